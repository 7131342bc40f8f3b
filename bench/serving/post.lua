-- wrk script: POST the body from $BODY as JSON (no per-response Lua, so wrk stays cheap).
wrk.method = "POST"
wrk.body = os.getenv("BODY")
wrk.headers["Content-Type"] = "application/json"
