"""Workload 5: a tiny Flask app for gunicorn's gthread worker.

The benchmark runs it with Debian's python3-gunicorn and python3-flask:
  /usr/bin/python3 -m gunicorn -k gthread -w 2 --threads 8 \
      -b 127.0.0.1:0 --chdir tools/workloads wl_flask:app
and loads it with wrk on loopback. Every GET / does the same pure-Python
work as wl_http.py's handler (sum over range(2000)) and answers a short
body through Flask's routing, request and response objects.
"""
from flask import Flask, Response

WORK = 2000

app = Flask(__name__)


@app.route("/")
def index():
    return Response(b"ok %d\n" % sum(range(WORK)), mimetype="text/plain")
