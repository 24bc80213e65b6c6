// A Node bot: answers on PORT (if set) and logs a status line every few seconds.
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 0);
let served = 0;
if (port) {
  createServer((req, res) => {
    served++;
    res.end(JSON.stringify({ bot: 'echo', path: req.url, served }) + '\n');
  }).listen(port, '127.0.0.1', () => console.log(`echo bot listening on 127.0.0.1:${port}`));
}
console.log(`echo bot up: pid ${process.pid}, node ${process.version}`);
const timer = setInterval(() => console.log(`status: ${served} request(s) served`), Number(process.env.INTERVAL_MS ?? 3000));
process.on('SIGTERM', () => {
  clearInterval(timer);
  console.log('echo bot stopping');
  process.exit(0);
});
