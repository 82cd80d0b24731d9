"""The sandbox API server through the official Python client (Debian's python3-kubernetes).

Usage: /usr/bin/python3 fidelity.py KUBECONFIG NAMESPACE
Prints one JSON object: for each check, what the client saw (statuses, reasons, messages).
"""
import json
import sys

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

config.load_kube_config(config_file=sys.argv[1])
ns = sys.argv[2]
v1 = client.CoreV1Api()
apps = client.AppsV1Api()
out = {}


def failure(call):
    """Runs call; returns the API's refusal as {status, reason, message}, or None if it succeeded."""
    try:
        call()
    except ApiException as e:
        body = json.loads(e.body) if e.body else {}
        return {"status": e.status, "reason": body.get("reason"), "message": body.get("message"),
                "causes": [c.get("field") for c in (body.get("details") or {}).get("causes") or []]}
    return None


v1.create_namespace({"metadata": {"name": ns}})
v1.create_namespaced_config_map(ns, {"metadata": {"name": "cfg", "labels": {"app": "py"}}, "data": {"a": "1", "b": "2"}})

# watch=True: a stream of events, not a list
events = []
w = watch.Watch()
for ev in w.stream(v1.list_namespaced_config_map, ns, timeout_seconds=2):
    events.append([ev["type"], ev["object"].metadata.name])
    w.stop()
out["watch"] = events

out["bad_label_selector"] = failure(lambda: v1.list_namespaced_config_map(ns, label_selector="app in py"))
out["bad_field_selector"] = failure(lambda: v1.list_namespaced_config_map(ns, field_selector="data.a=1"))
out["good_selectors"] = [o.metadata.name for o in v1.list_namespaced_config_map(
    ns, label_selector="app in (py, other)", field_selector="metadata.name=cfg").items]

out["bool_in_data"] = failure(lambda: v1.create_namespaced_config_map(
    ns, {"metadata": {"name": "flag"}, "data": {"flag": True}}))
out["service_type"] = failure(lambda: v1.create_namespaced_service(
    ns, {"metadata": {"name": "bad"}, "spec": {"type": "Cluster", "ports": [{"port": 80}]}}))
out["selector_operator"] = failure(lambda: apps.create_namespaced_deployment(ns, {
    "metadata": {"name": "op"},
    "spec": {"selector": {"matchExpressions": [{"key": "app", "operator": "in", "values": ["x"]}]},
             "template": {"metadata": {"labels": {"app": "x"}},
                          "spec": {"containers": [{"name": "c", "image": "127.0.0.1:1/none:1"}]}}}}))

# JSON patch (a list body is sent as application/json-patch+json)
v1.patch_namespaced_config_map("cfg", ns, [
    {"op": "test", "path": "/data", "value": {"b": "2", "a": "1"}},
    {"op": "add", "path": "/data/c", "value": "3"},
])
out["json_patch_data"] = v1.read_namespaced_config_map("cfg", ns).data
out["json_patch_remove_missing"] = failure(lambda: v1.patch_namespaced_config_map(
    "cfg", ns, [{"op": "remove", "path": "/data/nope"}]))
out["json_patch_proto"] = failure(lambda: v1.patch_namespaced_config_map(
    "cfg", ns, [{"op": "add", "path": "/__proto__/polluted", "value": "yes"}]))

# strategic merge patch (a dict body) merges Service ports by port
svc = v1.create_namespaced_service(ns, {"metadata": {"name": "web"}, "spec": {
    "selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}})
out["cluster_ip"] = {"clusterIP": svc.spec.cluster_ip, "clusterIPs": svc.spec.cluster_i_ps,
                     "ipFamilies": svc.spec.ip_families}
v1.patch_namespaced_service("web", ns, {"spec": {"ports": [{"name": "metrics", "port": 9090, "targetPort": 9090}]}})
out["service_ports"] = [p.port for p in v1.read_namespaced_service("web", ns).spec.ports]

out["too_large_object"] = failure(lambda: v1.create_namespaced_config_map(
    ns, {"metadata": {"name": "big"}, "data": {"blob": "x" * (2 * 1024 * 1024)}}))
out["too_large_body"] = failure(lambda: v1.create_namespaced_config_map(
    ns, {"metadata": {"name": "huge"}, "data": {"blob": "x" * (4 * 1024 * 1024)}}))
out["stored"] = sorted(o.metadata.name for o in v1.list_namespaced_config_map(ns).items)

print(json.dumps(out))
