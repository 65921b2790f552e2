// The checksum algorithms a file can be verified with, and a file's known checksums by
// algorithm (lowercase hex). Neutral: the downloader, the engine and the sources all use them.
export type ChecksumAlgo = 'sha256' | 'sha512' | 'sha1' | 'md5';
export type Checksums = Partial<Record<ChecksumAlgo, string>>;
