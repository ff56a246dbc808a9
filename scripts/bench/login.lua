-- wrk: form logins for EMAIL / PASSWORD (every one really hashes: run with the limiter relaxed).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "username=" .. os.getenv("EMAIL") .. "&password=" .. os.getenv("PASSWORD")
