/**
 * A consumer started by `batchinfer run` must not outlive it. `run` gives each consumer an
 * IPC channel; the operating system closes it when `run` dies, even by SIGKILL, which no
 * handler in `run` could catch. The consumer then drains as on SIGTERM (hand back or finish
 * its chunk) and exits. A consumer started any other way has no channel and is unaffected.
 */
export function exitWithParent(): void {
  const channel = process.channel;
  if (!channel) return;
  // The channel alone must not keep the process alive.
  channel.unref();
  process.once('disconnect', () => {
    process.kill(process.pid, 'SIGTERM');
  });
}
