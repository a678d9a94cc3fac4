#!/usr/bin/env python3
"""One-way-delay TCP proxy for the tccp test cluster's "WAN" link.

The kernel used for tests has no sch_netem, so latency between the laptop and
the login host is added in user space: every chunk read on one side is written
to the other side DELAY ms later, order preserved, independently per direction.
A round trip through the proxy therefore takes about 2 * DELAY ms more than the
direct path.  With --delay-ms 0 the proxy is a plain forwarder.

Usage:
  delay-proxy.py --delay-ms N --map LISTEN_IP:PORT=TARGET_IP:PORT [--map ...]
"""
import argparse
import asyncio
import signal
import socket
import sys
import time


def _nodelay(writer):
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass


async def pump(reader, writer, delay):
    """Copy reader -> writer, releasing each chunk `delay` seconds after it arrived."""
    queue = asyncio.Queue()

    async def read_side():
        try:
            while True:
                data = await reader.read(65536)
                await queue.put((time.monotonic() + delay, data))
                if not data:
                    return
        except (ConnectionError, OSError):
            await queue.put((time.monotonic() + delay, b""))

    async def write_side():
        while True:
            due, data = await queue.get()
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                try:
                    writer.write_eof()
                except (OSError, RuntimeError):
                    pass
                return
            writer.write(data)
            await writer.drain()

    await asyncio.gather(read_side(), write_side(), return_exceptions=True)


def make_handler(target_host, target_port, delay):
    async def handle(client_reader, client_writer):
        _nodelay(client_writer)
        try:
            up_reader, up_writer = await asyncio.open_connection(target_host, target_port)
        except OSError as exc:
            print(f"connect {target_host}:{target_port} failed: {exc}", flush=True)
            client_writer.close()
            return
        _nodelay(up_writer)
        await asyncio.gather(
            pump(client_reader, up_writer, delay),
            pump(up_reader, client_writer, delay),
            return_exceptions=True,
        )
        for w in (client_writer, up_writer):
            try:
                w.close()
            except OSError:
                pass

    return handle


def split_addr(text):
    host, port = text.rsplit(":", 1)
    return host, int(port)


async def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--delay-ms", type=float, default=0.0, help="one-way delay in ms")
    ap.add_argument("--map", action="append", required=True,
                    help="LISTEN_IP:PORT=TARGET_IP:PORT (repeatable)")
    args = ap.parse_args()
    delay = max(args.delay_ms, 0.0) / 1000.0

    servers = []
    for item in args.map:
        listen, target = item.split("=", 1)
        lh, lp = split_addr(listen)
        th, tp = split_addr(target)
        srv = await asyncio.start_server(make_handler(th, tp, delay), lh, lp, reuse_address=True)
        servers.append(srv)
        print(f"listening {lh}:{lp} -> {th}:{tp} (+{args.delay_ms:g} ms each way)", flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for srv in servers:
        srv.close()
    print("stopped", flush=True)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
