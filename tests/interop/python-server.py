#!/usr/bin/python3
"""python-socketio 5 (Debian's python3-socketio, on aiohttp) with the test handlers of
reference-server.mjs and tests/server/sio_fixture.cpp, so that one suite runs against all three.

    /usr/bin/python3 tests/interop/python-server.py --port 0   -> "listening on http://127.0.0.1:PORT"
"""
import argparse
import asyncio
import os
import signal

import engineio
import socketio
from aiohttp import web

# python-engineio refuses a polling payload of more than 16 packets (engine.io-client, ours and the
# native client send all that is queued in one POST, up to maxPayload bytes): raised as python-socketio's
# documentation advises, so that emits buffered before the connection do not fail the POST.
engineio.payload.Payload.max_decode_packets = 1000

parser = argparse.ArgumentParser()
parser.add_argument('--port', type=int, default=3000)
parser.add_argument('--transports', default='polling,websocket')
args, _ = parser.parse_known_args()

sio = socketio.AsyncServer(async_mode='aiohttp', transports=args.transports.split(','), ping_interval=1,
                           ping_timeout=1, cors_allowed_origins='*')
app = web.Application()
sio.attach(app)
records = []
auths = {}


def members(namespace, rooms):
    found = set()
    for room in rooms:
        found.update(sid for sid, _ in sio.manager.get_participants(namespace, room))
    return found


def serve(namespace):
    @sio.on('echo', namespace=namespace)
    async def echo(sid, *values):
        return values  # a tuple: each value one argument of the ack

    @sio.on('handshake', namespace=namespace)
    async def handshake(sid):
        return {'id': sid, 'nsp': namespace, 'auth': auths.get(sid) or {}}

    @sio.on('join', namespace=namespace)
    async def join(sid, rooms):
        for room in rooms if isinstance(rooms, list) else [rooms]:
            sio.enter_room(sid, room, namespace=namespace)
        return sorted(sio.rooms(sid, namespace=namespace))  # a list: one argument

    @sio.on('emit', namespace=namespace)
    async def emit(sid, spec, event, *values):
        spec = spec or {}
        targets = members(namespace, spec.get('rooms') or [None])
        targets -= members(namespace, spec.get('except') or [])
        if spec.get('from_socket'):
            targets.discard(sid)
        for target in targets:
            await sio.emit(event, values, to=target, namespace=namespace)
        return None

    @sio.on('ask', namespace=namespace)
    async def ask(sid, ms):
        try:
            reply = await sio.call('question', 'what?', to=sid, namespace=namespace, timeout=ms / 1000)
            reply = list(reply) if isinstance(reply, tuple) else [] if reply is None else [reply]
            return {'err': None, 'reply': reply}
        except socketio.exceptions.TimeoutError:
            return {'err': 'operation has timed out', 'reply': []}

    @sio.on('record', namespace=namespace)
    async def record(sid, value):
        records.append(value)

    @sio.on('records', namespace=namespace)
    async def get_records(sid):
        return records

    @sio.on('disconnect-me', namespace=namespace)
    async def disconnect_me(sid, close=False):
        await sio.disconnect(sid, namespace=namespace)


@sio.on('connect', namespace='/')
async def connect(sid, environ, auth):
    auths[sid] = auth


@sio.on('connect', namespace='/admin')
async def connect_admin(sid, environ, auth):
    if not isinstance(auth, dict) or auth.get('token') != 'secret':
        raise socketio.exceptions.ConnectionRefusedError('not authorized', {'code': 403})
    auths[sid] = auth
    # The CONNECT answer is queued when this returns; the welcome goes after it.
    sio.start_background_task(sio.emit, 'welcome', '/admin', to=sid, namespace='/admin')


serve('/')
serve('/admin')


async def main():
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, '127.0.0.1', args.port)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    print(f'listening on http://127.0.0.1:{port}', flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await stop.wait()
    # Like a server that is stopped: its connections close now (aiohttp's cleanup would wait for them).
    os._exit(0)


if __name__ == '__main__':
    asyncio.run(main())
