// Stock @matrixai/quic 2.0.9 for comparison: the installed copy carries our patch
// (patches/@matrixai__quic@2.0.9.patch), so a sibling copy with the patch reversed is made once.
// It sits in the same pnpm store folder, so its own dependencies resolve as the original's do.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

function stockQuicDir() {
  const installed = fs.realpathSync(
    path.join(root, 'packages/transport/node_modules/@matrixai/quic'),
  );
  const dir = path.join(path.dirname(installed), 'quic-stock');
  const marker = path.join(dir, '.stock');
  if (!fs.existsSync(marker)) {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.cpSync(installed, dir, { recursive: true });
    execFileSync(
      'patch',
      ['-R', '-p1', '-d', dir, '-i', path.join(root, 'patches/@matrixai__quic@2.0.9.patch')],
      {
        stdio: 'ignore',
      },
    );
    const js = fs.readFileSync(path.join(dir, 'dist/QUICConnection.js'), 'utf8');
    if (js.includes('node-network patch')) throw new Error('Reversing the quic patch failed');
    fs.writeFileSync(marker, 'stock @matrixai/quic 2.0.9\n');
  }
  return dir;
}

async function importStockQuic() {
  return import(path.join(stockQuicDir(), 'dist/index.js'));
}

export { importStockQuic, stockQuicDir };
