-- wrk: POST /alerts with a bearer token from the TOKEN environment variable.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
wrk.body = '{"symbol":"BTC","condition":"above","target_price":67187.3358936566,"notification_types":"email"}'
