import { ConfigError, loadConfig, type Config } from './config.js';
import { startApp } from './app.js';
import { startWorkerApp } from './worker-app.js';
import { createLogger } from './logger.js';

let config: Config;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(2);
}

const log = createLogger(config.logLevel);
try {
  // `npm run worker` (or `node dist/server/index.js worker`): the background work without the GraphQL server.
  const app = process.argv[2] === 'worker' ? await startWorkerApp(config, { log }) : await startApp(config, { log });
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    // Whatever happens, the process is gone within the shutdown budget.
    setTimeout(() => {
      log.error('shutdown timed out');
      process.exit(1);
    }, config.shutdownTimeoutMs).unref();
    app.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  // `on`, not `once`: a listener must stay registered, or tsx's preloaded signal hook exits the process at once.
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
} catch (error) {
  log.fatal({ err: error }, 'could not start');
  process.exit(1);
}
