"""Staff attendance from face-recognition clocks: ZKTeco ADMS, Hikvision ISAPI, MQTT terminals.

Sources parse what a clock sends into `AttendanceRecord`s; `AttendanceSink` turns them into
`staff_check_in` / `staff_check_out` requests. See docs/attendance.md.
"""

from hallctl.attendance.config import AttendanceConfig, MqttFaceBinding, MqttFaceProfile
from hallctl.attendance.hikvision_isapi import IsapiReceiver
from hallctl.attendance.mqtt_face import MapError, MqttFaceMapper
from hallctl.attendance.records import AttendanceRecord, Direction
from hallctl.attendance.service import AttendanceService
from hallctl.attendance.sink import AttendanceSink, DeliveryReport, StaffDirectory
from hallctl.attendance.zkteco_adms import AdmsReceiver
from hallctl.attendance.zkteco_tcp import ZkTcpClient

__all__ = [
    "AdmsReceiver",
    "AttendanceConfig",
    "AttendanceRecord",
    "AttendanceService",
    "AttendanceSink",
    "DeliveryReport",
    "Direction",
    "IsapiReceiver",
    "MapError",
    "MqttFaceBinding",
    "MqttFaceMapper",
    "MqttFaceProfile",
    "StaffDirectory",
    "ZkTcpClient",
]
