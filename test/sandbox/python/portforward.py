"""Port-forward through the official Python client (Debian's python3-kubernetes), which speaks
the plain WebSocket protocol (v4.channel.k8s.io: a data and an error channel per port, each
opened by a frame carrying the port), not kubectl's SPDY tunnel.

Usage: /usr/bin/python3 portforward.py KUBECONFIG NAMESPACE POD PORT CLOSED_PORT
Prints one JSON object: the HTTP response read through PORT, and the error channel's text for
CLOSED_PORT (a port nothing in the pod listens on).
"""
import json
import sys

from kubernetes import client, config
from kubernetes.stream import portforward

config.load_kube_config(config_file=sys.argv[1])
ns, pod, port, closed = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
v1 = client.CoreV1Api()


def through(p, request):
    pf = portforward(v1.connect_get_namespaced_pod_portforward, pod, ns, ports=str(p))
    s = pf.socket(p)
    s.settimeout(20)
    data = b""
    try:
        if request:
            s.sendall(request)
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except (BrokenPipeError, ConnectionResetError):
        # a port nothing listens on: the stream ends once its error is sent, which may be
        # before this side writes (the response below is then empty, and the error is kept)
        pass
    s.close()
    return data.decode(errors="replace"), pf.error(p)


response, error = through(port, b"GET /index.html HTTP/1.0\r\nHost: pod\r\n\r\n")
_, closed_error = through(closed, b"")
print(json.dumps({"response": response, "error": error, "closed_error": closed_error}))
