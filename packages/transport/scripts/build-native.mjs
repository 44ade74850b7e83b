// Compiles native/udp_gso.c (batched UDP sends, see the transport README) into
// native/build/udp_gso.node with the system C compiler against the running Node's headers
// (N-API only: no node-gyp, no download). Without a compiler or headers it says so and the
// transport logs at start that it sends one datagram per system call.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const source = path.join(root, 'native', 'udp_gso.c');
const out = path.join(root, 'native', 'build', 'udp_gso.node');
const include =
  process.env.NODE_INCLUDE_DIR ??
  path.resolve(path.dirname(process.execPath), '..', 'include', 'node');

if (process.platform !== 'linux') {
  console.warn(`transport: UDP GSO is Linux only; not building ${path.basename(out)}`);
  process.exit(0);
}
if (!fs.existsSync(path.join(include, 'node_api.h'))) {
  console.warn(
    `transport: no node_api.h in ${include} (set NODE_INCLUDE_DIR); not building ${path.basename(out)}`,
  );
  process.exit(0);
}
if (fs.existsSync(out) && fs.statSync(out).mtimeMs >= fs.statSync(source).mtimeMs) process.exit(0);
fs.mkdirSync(path.dirname(out), { recursive: true });
const cc = process.env.CC ?? 'cc';
try {
  execFileSync(
    cc,
    ['-O2', '-shared', '-fPIC', '-Wall', '-Werror', '-I', include, source, '-o', out],
    {
      stdio: 'inherit',
    },
  );
} catch (e) {
  console.error(`transport: building ${path.basename(out)} with ${cc} failed: ${e.message}`);
  process.exit(1);
}
