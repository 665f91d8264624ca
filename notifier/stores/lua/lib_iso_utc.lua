-- iso_utc(ms): epoch milliseconds as "2026-11-21T12:00:00.123Z" (Redis's Lua has
-- no os.date). Days to a civil date by Howard Hinnant's algorithm, valid for
-- every date after 1970. Prepended to the scripts that need it (scripts.py).
local function iso_utc(ms)
  local floor = math.floor
  local seconds = floor(ms / 1000)
  local milli = ms - seconds * 1000
  local days = floor(seconds / 86400)
  local of_day = seconds - days * 86400
  local z = days + 719468
  local era = floor(z / 146097)
  local doe = z - era * 146097
  local yoe = floor((doe - floor(doe / 1460) + floor(doe / 36524) - floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + floor(yoe / 4) - floor(yoe / 100))
  local mp = floor((5 * doy + 2) / 153)
  local day = doy - floor((153 * mp + 2) / 5) + 1
  local month = mp < 10 and mp + 3 or mp - 9
  local year = yoe + era * 400 + (month <= 2 and 1 or 0)
  return string.format('%04d-%02d-%02dT%02d:%02d:%02d.%03dZ', year, month, day,
    floor(of_day / 3600), floor(of_day % 3600 / 60), of_day % 60, milli)
end
