// The commands that work on an existing mirror without an upstream (verify, gc) run inside
// `withMirror`: one mirror session (lock taken, state DB open and bound to this mirror); then,
// whatever happened, status.json refreshed (repairs and deletions change the size), the DB
// closed and the lock released.
import { MirrorSession } from '../engine/session.js';

export async function withMirror<T>(
  dest: string,
  statePath: string | undefined,
  how: { command: string; scratch?: boolean },
  body: (session: MirrorSession) => Promise<T>,
): Promise<T> {
  const session = await MirrorSession.open({ dest, statePath, existing: true, ...how });
  try {
    return await body(session);
  } finally {
    await session.close();
  }
}
