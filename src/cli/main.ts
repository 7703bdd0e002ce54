import { ConfigError, RedisUnavailableError } from '../shared/errors.js';
import { UsageError } from './args.js';

export const USAGE = `Usage: batchinfer <command> [options]

Commands:
  run <dataset> [--model sum] [--output DIR] [--chunk-size N] [--consumers N] [--format jsonl|csv]
                [--label key=value]... [--json]
                            run producer, consumers and Redis locally until the batch is done
  producer                  start the producer HTTP API (container entrypoint)
  consumer                  start a chunk consumer (container entrypoint)
  exporter                  start the queue/cost exporter: /metrics, JSON API, dashboard page
  submit <datasetUrl> [--server URL] [--model M] [--label key=value]... [--schedule NAME] [--json]
                            submit a batch to a running producer
  status <id> [--server URL] [--watch] [--json]
                            show a batch's status

Environment: see README.md (REDIS_URL, PORT, OUTPUT_URL, MODEL, CHUNK_SIZE, ...).`;

type Command = (argv: string[]) => Promise<number>;

/** Sub-commands by name; the container image runs one of them (`args` in the manifests). */
export const COMMANDS: Record<string, () => Promise<Command>> = {
  run: async () => (await import('./run-command.js')).runCommand,
  producer: async () => (await import('./service-commands.js')).producerCommand,
  consumer: async () => (await import('./service-commands.js')).consumerCommand,
  exporter: async () => (await import('./service-commands.js')).exporterCommand,
  submit: async () => (await import('./client-commands.js')).submitCommand,
  status: async () => (await import('./client-commands.js')).statusCommand,
};

/** Runs a sub-command; returns the process exit code. Known failures are one line on stderr. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE + '\n');
    return name ? 0 : 2;
  }
  const load = COMMANDS[name];
  if (!load) {
    process.stderr.write(`batchinfer: unknown command '${name}'\n${USAGE}\n`);
    return 2;
  }
  try {
    return await (
      await load()
    )(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`batchinfer ${name}: ${err.message}\n`);
      return 2;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`batchinfer: invalid configuration: ${err.message}\n`);
      return 2;
    }
    if (err instanceof RedisUnavailableError) {
      process.stderr.write(`batchinfer: ${err.message}\n`);
      return 3;
    }
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`batchinfer ${name}: ${message}\n`);
    return 1;
  }
}
