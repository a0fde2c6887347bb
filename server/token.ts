// Prints a bearer token signed with the configured JWT_SECRET: npm run token -- <sub> [--admin] [--expires 12h]
import { signToken } from './auth.js';
import { loadConfig } from './config.js';

const args = process.argv.slice(2);
const sub = args.find((arg) => !arg.startsWith('--'));
const expiresAt = args.indexOf('--expires');
if (!sub) {
  console.error('usage: npm run token -- <sub> [--admin] [--expires 12h]');
  process.exit(2);
}
const expiresIn = expiresAt >= 0 ? args[expiresAt + 1] : undefined;
console.log(await signToken(loadConfig().jwtSecret, sub, { admin: args.includes('--admin'), expiresIn }));
