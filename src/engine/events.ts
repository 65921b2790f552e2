// Typed events of a run, for observers that are not the engine (audit manifest, metrics,
// progress). The engine emits; nothing it does depends on who listens.
import { EventEmitter } from 'node:events';
import type { RequestEvent } from '../http/downloader.js';

export type FileOutcome = 'downloaded' | 'kept' | 'deleted' | 'failed' | 'skipped' | 'published';

export interface FileEvent {
  runId: number;
  path: string;
  url?: string;
  size?: number;
  sha256?: string;
  outcome: FileOutcome;
  attempts?: number;
  error?: string;
  startedAt?: number;
  finishedAt: number;
}

export interface RunStartEvent {
  runId: number;
  source: string;
  upstream: string;
  dest: string;
  startedAt: number;
}

export interface RunCounts {
  downloaded: number;
  kept: number;
  deleted: number;
  failed: number;
  published: number;
  rejected: number;
}

export type { RunOutcome } from '../state/types.js';
import type { RunOutcome } from '../state/types.js';

export interface RunSummary {
  runId: number;
  source: string;
  upstream: string;
  dest: string;
  outcome: RunOutcome;
  exitCode: number;
  counts: RunCounts;
  bytesDownloaded: number;
  startedAt: number;
  endedAt: number;
  error?: string;
}

export interface RunEventMap {
  'run-start': [RunStartEvent];
  file: [FileEvent];
  request: [RequestEvent];
  'run-end': [RunSummary];
}

export class RunEvents extends EventEmitter<RunEventMap> {}
