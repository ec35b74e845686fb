// The browser test rig itself: Debian's Chromium starts under playwright-core, loads a page from a
// local server, runs its module script, and opens a WebSocket to 127.0.0.1 (what the exam page does).

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { WebSocketServer } from 'ws';
import { browserTest, launchChromium } from '../../helpers/chromium.js';

t.test('Chromium loads a local page and opens a WebSocket back to it', browserTest(), async (t) => {
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html' });
    response.end(`<!doctype html><title>rig</title><button id="b">Press</button>
      <script type="module">
        const ws = new WebSocket('ws://' + location.host + '/ws');
        ws.onopen = () => { document.title = 'open'; };
        ws.onmessage = (e) => { document.title = 'got ' + e.data; };
        document.getElementById('b').onclick = () => ws.send('pressed');
      </script>`);
  });
  const wss = new WebSocketServer({ server, path: '/ws' });
  wss.on('connection', (ws) => ws.on('message', (data) => ws.send(`echo ${data.toString()}`)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => { wss.close(); server.close(() => resolve()); }));
  const { port } = server.address() as AddressInfo;

  const browser = await launchChromium(t);
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${port}/`);
  await page.waitForFunction("document.title === 'open'", undefined, { timeout: 10_000 });
  await page.getByRole('button', { name: 'Press' }).click();
  await page.waitForFunction("document.title === 'got echo pressed'", undefined, { timeout: 10_000 });
  t.equal(await page.title(), 'got echo pressed', 'the page sent a frame and got the echo back');
});
