// A minimal controlled process for lab tests: JSON-lines requests on stdin, replies and events on stdout.
import os from 'node:os';
import readline from 'node:readline';
const send = (o) => process.stdout.write(JSON.stringify(o) + '\n');
send({ event: 'started', pid: process.pid });
process.stdout.write('a log line that is not JSON\n');
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const { id, cmd, args } = JSON.parse(line);
  if (cmd === 'ping') return send({ id, result: 'pong' });
  if (cmd === 'addresses') {
    const all = Object.values(os.networkInterfaces())
      .flat()
      .map((i) => i.address);
    return send({ id, result: all });
  }
  if (cmd === 'fail') return send({ id, error: `asked to fail: ${args?.why ?? ''}` });
  if (cmd === 'emit')
    return (send({ event: 'custom', value: args?.value }), send({ id, result: true }));
  // 'ignore' and anything unknown: no answer (the caller's timeout fires)
});
