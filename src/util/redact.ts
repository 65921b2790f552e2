// Credentials in URLs (`https://user:token@host/`) must never leave the process in clear: logs,
// the audit manifest, status, error messages and metrics show every URL through
// `redactCredentials`, which keeps a user name and replaces a password by `***` (a lone
// user-info may be a token: `https://TOKEN@host/` becomes `https://***@host/`).

const USER_INFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#@:]*)(:[^\s/?#]*)?@/gi;

export function redactCredentials(text: string): string {
  if (!text.includes('@')) return text;
  return text.replace(USER_INFO, (_all, scheme: string, user: string, password?: string) =>
    password === undefined ? `${scheme}***@` : `${scheme}${user}:***@`,
  );
}
