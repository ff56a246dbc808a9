-- wrk: issue 19's realistic API load. Each request is a random user's (USERS_FILE, one line per
-- user: "id token alert_id,alert_id,…"), MIX_GET % `GET /alerts`, MIX_POST % `POST /alerts`, the
-- rest `PATCH` (the user's first alert) and `DELETE` (walking the users this thread owns, never
-- a user's first alert, so no request aims at an alert already gone).
local users = {}
local symbols = {"BTC", "ETH", "SOL", "ADA", "XRP", "DOGE", "DOT", "AVAX", "LINK", "LTC"}
local mix_get = tonumber(os.getenv("MIX_GET") or "80")
local mix_post = tonumber(os.getenv("MIX_POST") or "15")
local next_thread = 0

function setup(thread)
    thread:set("thread_id", next_thread)
    thread:set("threads", tonumber(os.getenv("WRK_THREADS") or "2"))
    next_thread = next_thread + 1
end

function init(args)
    math.randomseed(os.time() * 1000 + thread_id)
    for line in io.lines(os.getenv("USERS_FILE")) do
        local id, token, ids = line:match("^(%d+) (%S+) ?(.*)$")
        local alerts = {}
        for alert in ids:gmatch("%d+") do
            alerts[#alerts + 1] = alert
        end
        local auth = "Bearer " .. token
        -- The user's GET, whole: formatting it per request cost wrk an eighth of its CPU, taken
        -- from the gateway's two cores (docs/BENCHMARKS.md, "The load client's share").
        local get = wrk.format("GET", "/alerts", {Authorization = auth})
        users[#users + 1] = {auth = auth, alerts = alerts, get = get}
    end
    next_deletion = thread_id + 1
end

local function with_alerts()
    while true do
        local user = users[math.random(#users)]
        if #user.alerts > 0 then
            return user
        end
    end
end

local function deletion()
    while next_deletion <= #users do
        local user = users[next_deletion]
        if #user.alerts >= 2 then
            return user, table.remove(user.alerts)
        end
        next_deletion = next_deletion + threads
    end
end

function request()
    local roll = math.random(100)
    if roll <= mix_get then
        return users[math.random(#users)].get
    end
    local json = "application/json"
    if roll <= mix_get + mix_post then
        local body = string.format('{"symbol":"%s","condition":"above","target_price":%d.5}',
            symbols[math.random(#symbols)], math.random(100000))
        return wrk.format("POST", "/alerts",
            {Authorization = users[math.random(#users)].auth, ["Content-Type"] = json}, body)
    end
    if roll % 2 == 0 then
        local user = with_alerts()
        local body = string.format('{"target_price":%d.25}', math.random(100000))
        return wrk.format("PATCH", "/alerts/" .. user.alerts[1],
            {Authorization = user.auth, ["Content-Type"] = json}, body)
    end
    local user, alert = deletion()
    if user then
        return wrk.format("DELETE", "/alerts/" .. alert, {Authorization = user.auth})
    end
    return users[math.random(#users)].get
end
