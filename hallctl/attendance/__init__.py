"""Staff attendance from face-recognition clocks: ZKTeco ADMS, Hikvision ISAPI, MQTT terminals.

Sources parse what a clock sends into `AttendanceRecord`s; `AttendanceSink` turns them into
`staff_check_in` / `staff_check_out` requests. See docs/attendance.md.
"""

# Submodules are imported where used, so a hall without these devices never loads
# their libraries (pymodbus, aiohttp): the daemon stays within its memory budget.
