// The one error type the downloader throws. `code` tells the caller what happened:
//   not-found  upstream answered 404/410 (the file is missing upstream; never retried)
//   checksum   the body does not match a checksum the index gave
//   size       the body is larger/smaller than the index says, or the server announced so
//   http       an HTTP status that is not success (after retries, if it was retryable)
//   network    connection/timeout/reset errors (after retries)
//   aborted    the caller's signal fired; the tmp file is left for the caller to delete
//   redirect   too many redirects, a loop, or a redirect to a non-http(s) URL
//   local      the local filesystem failed (disk full, permissions): never retried

export type DownloadErrorCode = 'not-found' | 'checksum' | 'size' | 'http' | 'network' | 'aborted' | 'redirect' | 'local';

export class DownloadError extends Error {
  override readonly name = 'DownloadError';
  /** The tmp file holds bytes a later download of the same URL can continue (its sidecar is kept). */
  readonly resumable: boolean;
  constructor(
    readonly code: DownloadErrorCode,
    message: string,
    readonly attempts: number,
    readonly status?: number,
    readonly url?: string,
    options?: { cause?: unknown; resumable?: boolean },
  ) {
    super(message, options);
    this.resumable = options?.resumable ?? false;
  }
}
