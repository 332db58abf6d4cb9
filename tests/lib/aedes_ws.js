// aedes (npm) over WebSockets, for tests/integration/test_ws.py: a second,
// independent MQTT-over-WebSocket stack beside mosquitto 2.1.2's.
//   node aedes_ws.js PORT [CERT KEY]   -> prints "ready" once listening
// With CERT and KEY it serves wss (https); the upgrade accepts the mqtt
// subprotocol only, on any path.
'use strict';
const fs = require('fs');
const http = require('http');
const https = require('https');
const aedes = require('aedes')();
const { WebSocketServer, createWebSocketStream } = require('ws');

const port = Number(process.argv[2]);
const server = process.argv[3]
  ? https.createServer({ cert: fs.readFileSync(process.argv[3]), key: fs.readFileSync(process.argv[4]) })
  : http.createServer();
const wss = new WebSocketServer({
  server,
  handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : false),
});
wss.on('connection', (ws) => aedes.handle(createWebSocketStream(ws)));
server.listen(port, '127.0.0.1', () => console.log('ready'));
process.on('SIGTERM', () => process.exit(0));
