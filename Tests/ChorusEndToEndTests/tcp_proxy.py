#!/usr/bin/env python3
"""A TCP proxy for the fault tests: forwards each listening port to its target.

Usage: tcp_proxy.py LISTEN_PORT:TARGET_HOST:TARGET_PORT...

Listens on 127.0.0.1 (port 0 takes any free port) and prints one line,
`proxy listening PORT...`, once every port is bound. Killing it (SIGKILL) resets every
connection through it and loses what it had read but not yet forwarded: what a network
fault between workers and collector does.
"""

import socket
import sys
import threading


def pump(source, target):
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            target.sendall(data)
    except OSError:
        pass
    for sock in (source, target):
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def serve(listener, target):
    while True:
        client, _ = listener.accept()
        try:
            upstream = socket.create_connection(target)
        except OSError:
            client.close()
            continue
        for sock in (client, upstream):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=pump, args=(client, upstream), daemon=True).start()
        threading.Thread(target=pump, args=(upstream, client), daemon=True).start()


def main(arguments):
    if not arguments:
        sys.exit(__doc__)
    listeners = []
    for route in arguments:
        port, host, target_port = route.split(":")
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # A restarted proxy takes the same port back at once.
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", int(port)))
        listener.listen(64)
        listeners.append((listener, (host, int(target_port))))
    ports = " ".join(str(listener.getsockname()[1]) for listener, _ in listeners)
    print(f"proxy listening {ports}", flush=True)
    threads = [threading.Thread(target=serve, args=pair, daemon=True) for pair in listeners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


if __name__ == "__main__":
    main(sys.argv[1:])
