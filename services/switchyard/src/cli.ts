import { parseArgs } from 'node:util';
import { SchemaNewerError } from '@switchyard/core';
import { runMockUpstreamCli } from '@switchyard/mock-upstream';
import { ConfigError, configReference, loadConfig } from './config.js';
import type { Logger } from 'pino';
import { createLogger, startAllInOne } from './all-in-one.js';
import type { SwitchyardConfig } from './config.js';
import { ROLES, requireForRole, type Role } from './role-requirements.js';
import { startAccountingRole } from './roles/accounting-role.js';
import { startControlPlaneRole } from './roles/control-plane-role.js';
import { startRelayRole } from './roles/relay-role.js';
import { ADMIN_COMMANDS, ADMIN_HELP, runAdminCli } from './admin-cli.js';
import { MIGRATE_HELP, runMigrateCli } from './migrate-cli.js';
import { DeclarativeFileError } from './declarative-file.js';

const HELP = `switchyard — self-hosted LLM API gateway

Usage: switchyard <command> [options]

Commands:
  serve            Start the gateway (default role: all — relay, control plane and accounting in one process)
  migrate          Apply database migrations and exit (also: migrate status, migrate down --to <name>)
  mock-upstream    Start the fake OpenAI/Anthropic upstream (for demos and benchmarks)
  config           Print the configuration reference (environment variables)
  help             Show this help

serve options (override the environment):
  --role <role>           all (default), relay, control-plane or accounting
  --port <n>              SWITCHYARD_HTTP_PORT
  --host <addr>           SWITCHYARD_HTTP_HOST
  --data-dir <dir>        SWITCHYARD_DATA_DIR
  --database-url <url>    SWITCHYARD_DATABASE_URL
  --log-level <level>     SWITCHYARD_LOG_LEVEL
  --config-file <path>    SWITCHYARD_CONFIG_FILE (switchyard.yaml, applied at start)

mock-upstream options: --port <n> (default 9090) --host <addr> --chunks <n> --latency-ms <n> --status <code>

${MIGRATE_HELP}
${ADMIN_HELP}`;

const FLAG_TO_ENV: Record<string, string> = {
  port: 'SWITCHYARD_HTTP_PORT',
  host: 'SWITCHYARD_HTTP_HOST',
  'data-dir': 'SWITCHYARD_DATA_DIR',
  'database-url': 'SWITCHYARD_DATABASE_URL',
  'log-level': 'SWITCHYARD_LOG_LEVEL',
  'config-file': 'SWITCHYARD_CONFIG_FILE',
};

function configFrom(args: string[]) {
  const { values } = parseArgs({
    args,
    options: {
      role: { type: 'string', default: 'all' },
      port: { type: 'string' },
      host: { type: 'string' },
      'data-dir': { type: 'string' },
      'database-url': { type: 'string' },
      'log-level': { type: 'string' },
      'config-file': { type: 'string' },
    },
    strict: true,
  });
  const role = values.role as Role;
  if (!ROLES.includes(role)) {
    throw new ConfigError(`--role ${values.role}: must be one of ${ROLES.join(', ')}`);
  }
  const env: Record<string, string | undefined> = { ...process.env };
  for (const [flag, name] of Object.entries(FLAG_TO_ENV)) {
    const v = (values as Record<string, string | undefined>)[flag];
    if (v !== undefined) env[name] = v;
  }
  return { config: loadConfig(env), role };
}

async function startRole(role: Role, config: Readonly<SwitchyardConfig>, logger: Logger) {
  requireForRole(role, config);
  switch (role) {
    case 'all': {
      const gw = await startAllInOne(config, { logger, env: process.env });
      return {
        close: () => gw.close(),
        generatedAdminToken: gw.generatedAdminToken,
        banner: `Switchyard listening on ${gw.url} (OpenAI-compatible API at ${gw.url}/v1, admin API at ${gw.url}/admin/v1)`,
      };
    }
    case 'control-plane': {
      const h = await startControlPlaneRole(config, logger, process.env);
      return {
        close: () => h.close(),
        generatedAdminToken: null,
        banner: `Switchyard control plane listening on ${h.url} (admin API at ${h.url}/admin/v1, gRPC on port ${h.grpcPort})`,
      };
    }
    case 'relay': {
      const h = await startRelayRole(config, logger);
      return {
        close: () => h.close(),
        generatedAdminToken: null,
        banner: `Switchyard relay listening on ${h.url} (OpenAI-compatible API at ${h.url}/v1)`,
      };
    }
    case 'accounting': {
      const h = await startAccountingRole(config, logger);
      return {
        close: () => h.close(),
        generatedAdminToken: null,
        banner: `Switchyard accounting listening on ${h.url} (health and metrics)`,
      };
    }
  }
}

async function serve(args: string[]): Promise<void> {
  const { config, role } = configFrom(args);
  const logger = createLogger(config.logLevel);
  // A server keeps serving after a stray rejection in one request; it is logged, never swallowed.
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled promise rejection'));
  const gw = await startRole(role, config, logger);
  const lines = [gw.banner];
  if (gw.generatedAdminToken !== null) {
    lines.push(
      '',
      'Admin token (generated on first start; shown only this once, store it now):',
      `  ${gw.generatedAdminToken}`,
      'Use it as "Authorization: Bearer <token>" on /admin/v1. Set SWITCHYARD_ADMIN_TOKEN to choose your own.',
    );
  }
  process.stderr.write(`${lines.join('\n')}\n`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`${signal}: draining in-flight requests, then stopping\n`);
    // Why 30 s: matches Kubernetes' default termination grace period (after the drain delay, which
    // the pod's terminationGracePeriodSeconds must then include).
    const force = setTimeout(() => process.exit(1), config.shutdownDrainDelayMs + 30_000);
    force.unref();
    gw.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

export async function main(argv: string[]): Promise<number> {
  const [command = 'serve', ...rest] = argv;
  try {
    if (ADMIN_COMMANDS.includes(command)) {
      return await runAdminCli(argv, {
        stdout: (text) => process.stdout.write(text),
        stderr: (text) => process.stderr.write(text),
        env: process.env,
      });
    }
    switch (command) {
      case 'serve':
        await serve(rest);
        return -1; // keeps running
      case 'migrate':
        return await runMigrateCli(rest, { stdout: (text) => process.stdout.write(text), env: process.env });
      case 'mock-upstream':
        await runMockUpstreamCli(rest);
        return -1;
      case 'config':
        process.stdout.write(`${configReference()}\n`);
        return 0;
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(HELP);
        return 0;
      default:
        process.stderr.write(`switchyard: unknown command "${command}"\n\n${HELP}`);
        return 2;
    }
  } catch (err) {
    if (
      err instanceof ConfigError ||
      err instanceof DeclarativeFileError ||
      (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
    ) {
      process.stderr.write(`switchyard: ${(err as Error).message}\n`);
      return 2;
    }
    if (err instanceof SchemaNewerError) {
      process.stderr.write(`switchyard: ${err.message}\n`);
      return 1;
    }
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      process.stderr.write(`switchyard: cannot listen: ${(err as Error).message}\n`);
      return 1;
    }
    process.stderr.write(`switchyard: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  }
}

const code = await main(process.argv.slice(2));
// Exit at once on a finished command or a failed start: a role that failed to listen may still hold
// gRPC, Redis or NATS connections that would otherwise keep the process alive.
if (code >= 0) process.exit(code);
