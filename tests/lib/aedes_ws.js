// aedes (npm) over WebSockets, for tests/integration/test_ws.py: a second,
// independent MQTT-over-WebSocket stack beside mosquitto 2.1.2's.
//   node aedes_ws.js PORT [CERT KEY [CA]]   -> prints "ready" once listening
// With CERT and KEY it serves wss (https); with CA too it requires a client
// certificate issued by it. The upgrade accepts the mqtt subprotocol only,
// on any path.
'use strict';
const fs = require('fs');
const http = require('http');
const https = require('https');
const aedes = require('aedes')();
const { WebSocketServer, createWebSocketStream } = require('ws');

const port = Number(process.argv[2]);
const tls = process.argv[3] && { cert: fs.readFileSync(process.argv[3]), key: fs.readFileSync(process.argv[4]) };
if (tls && process.argv[5]) {
  tls.ca = fs.readFileSync(process.argv[5]);
  tls.requestCert = true;
  tls.rejectUnauthorized = true;
}
const server = tls ? https.createServer(tls) : http.createServer();
const wss = new WebSocketServer({
  server,
  handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : false),
});
wss.on('connection', (ws) => aedes.handle(createWebSocketStream(ws)));
// the tests wait for this line before they publish
aedes.on('subscribe', (subs, client) => console.log('subscribed ' + (client ? client.id : '?')));
server.listen(port, '127.0.0.1', () => console.log('ready'));
process.on('SIGTERM', () => process.exit(0));
