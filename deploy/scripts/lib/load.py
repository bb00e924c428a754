#!/usr/bin/env python3
"""Bounded load for the cluster proofs: WORKERS threads, each in a loop creating a sandbox
(16 MB, short timeout), reading it and killing it, until DURATION seconds have passed or the
file STOP exists. Prints one JSON summary: requests, failures (anything but 200, or no answer),
statuses, the slowest answer, and the times of the first and last failure.
usage: load.py URL ACCOUNT KEY WORKERS DURATION [STOP-FILE] [NODE-TYPE]"""
import base64, json, os, sys, threading, time, urllib.error, urllib.parse, urllib.request

url, account, key, workers, duration = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
stop_file = sys.argv[6] if len(sys.argv) > 6 else ""
node_type = sys.argv[7] if len(sys.argv) > 7 else ""
auth = "Basic " + base64.b64encode(f"{account}:{key}".encode()).decode()
lock = threading.Lock()
summary = {"requests": 0, "failures": 0, "statuses": {}, "slowest_s": 0.0, "first_failure": None, "last_failure": None}
REQUEST_TIMEOUT = 30

def call(method, path, form=None):
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(url + path, data=data, method=method, headers={"Authorization": auth})
    started = time.time()
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    except Exception as error:
        status, body = "no-answer:" + type(error).__name__, b"{}"
    now = time.time()
    with lock:
        summary["requests"] += 1
        summary["statuses"][str(status)] = summary["statuses"].get(str(status), 0) + 1
        summary["slowest_s"] = max(summary["slowest_s"], round(now - started, 3))
        if status != 200:
            summary["failures"] += 1
            summary["first_failure"] = summary["first_failure"] or now
            summary["last_failure"] = now
    try:
        return status, json.loads(body or b"{}")
    except ValueError:
        return status, {}

def worker():
    deadline = time.time() + duration
    while time.time() < deadline and not (stop_file and os.path.exists(stop_file)):
        form = {"memory": "16", "timeout": "5", "template": "busybox"}
        if node_type:
            form["node_type"] = node_type
        status, answer = call("POST", "/sandbox/", form)
        if status != 200:
            time.sleep(0.05)
            continue
        call("GET", "/sandbox/" + answer["id"])
        call("POST", "/sandbox/" + answer["id"] + "/kill")

threads = [threading.Thread(target=worker) for _ in range(workers)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(json.dumps(summary))
