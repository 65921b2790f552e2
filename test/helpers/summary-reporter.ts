// A vitest reporter that ends the run with one plain line, 'N passed, N failed, N skipped',
// which any CI log reader understands (and which makes a run of zero tests obvious).
import type { Reporter, File, Task } from 'vitest';

export default class SummaryReporter implements Reporter {
  onFinished(files: File[] = []): void {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    const visit = (task: Task) => {
      if (task.type === 'suite') return task.tasks.forEach(visit);
      const state = task.result?.state;
      if (state === 'pass') counts.passed++;
      else if (state === 'fail') counts.failed++;
      else counts.skipped++;
    };
    for (const file of files) {
      visit(file);
      if (file.result?.state === 'fail' && file.tasks.length === 0) counts.failed++; // a file that failed to load
    }
    process.stdout.write(`\n${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`);
  }
}
