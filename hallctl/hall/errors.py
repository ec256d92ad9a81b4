"""Errors a request can meet: a code for machines, a message in English and Chinese."""

from __future__ import annotations

from typing import Any

MESSAGES: dict[str, tuple[str, str]] = {
    "bad_request": ("The request is malformed", "请求格式错误"),
    "unknown_action": ("Unknown action", "未知操作"),
    "unknown_service": ("Unknown service", "未知业务"),
    "unknown_window": ("Unknown window", "未知窗口"),
    "unknown_staff": ("Unknown staff member", "未知工作人员"),
    "staff_busy": ("The staff member is already at another window", "该工作人员已在其他窗口"),
    "unknown_ticket": ("Unknown ticket", "未知号码"),
    "unknown_appointment": ("Unknown or used appointment code", "预约码无效或已使用"),
    "outside_hours": ("Outside issuing hours", "当前不在取号时间内"),
    "daily_cap_reached": ("Today's tickets for this service are used up", "该业务今日号源已满"),
    "service_closed": ("No window serves this service now", "该业务暂停取号"),
    "already_has_ticket": (
        "This person already has a ticket for this service today",
        "今日已取过该业务号",
    ),
    "green_not_allowed": (
        "Green channel is not available for this service",
        "该业务不支持绿色通道",
    ),
    "window_closed": ("The window is closed", "窗口未开放"),
    "window_open": ("The window is already open", "窗口已开放"),
    "window_paused": ("The window is paused", "窗口暂停服务中"),
    "window_not_paused": ("The window is not paused", "窗口未暂停"),
    "window_busy": ("The window has a ticket in hand", "窗口正在办理业务"),
    "no_current_ticket": ("The window has no ticket in hand", "窗口当前无办理中的号码"),
    "queue_empty": ("Nobody is waiting for this window", "当前无人等候"),
    "recall_cap_reached": ("Recalled too often", "重呼次数已达上限"),
    "not_suspended": ("No suspended ticket to call back", "没有挂起的号码"),
    "same_service": ("The ticket is already in that service's line", "已在该业务队列中"),
    "not_served": ("Only a served ticket can be evaluated", "办理后才能评价"),
    "already_evaluated": ("The ticket has been evaluated", "该号码已评价"),
    "reason_required": ("A reason is required for a bad review", "差评需要填写原因"),
    "rejoin_expired": ("Too late to rejoin", "已超过重新排队时限"),
    "not_no_show": ("The ticket is not a no-show", "该号码不是过号"),
    "unknown_device": ("Unknown device", "未知设备"),
    "issuing_stopped": ("Issuing for this service is stopped today", "该业务今日已停止取号"),
    "not_waiting": ("The ticket is not waiting", "该号码不在等候中"),
    "not_served_here": ("This window does not serve the ticket's service", "本窗口不办理该业务"),
    "forbidden": ("Not allowed for this client", "无权执行该操作"),
    "rate_limited": ("Too many requests, try again shortly", "请求过于频繁，请稍后再试"),
    "internal": ("Internal error", "内部错误"),
    "unknown_alarm": ("No such active alarm", "该告警不存在或已解除"),
    "already_acknowledged": ("The alarm is already acknowledged", "该告警已确认"),
    "unknown_case": ("No such open case", "该整改件不存在或已办结"),
    "not_followed_up": ("Follow the case up (回访) before closing it", "请先回访再办结"),
    "disk_full": (
        "Disk full: nothing was changed; retry with the same request_id when space is freed",
        "磁盘已满：本次操作未执行，请清理空间后使用相同的 request_id 重试",
    ),
}


class HallError(Exception):
    def __init__(self, code: str, detail: str | None = None, **context: Any) -> None:
        en, zh = MESSAGES.get(code, (code.replace("_", " "), code))
        self.code = code
        self.message = f"{en}: {detail}" if detail else en
        self.message_zh = zh
        self.context = context
        self.events: list[tuple[str, dict[str, Any]]] = []  # state changes that still stand
        super().__init__(self.message)

    def to_dict(self) -> dict[str, Any]:
        err: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "message_zh": self.message_zh,
        }
        if self.context:
            err["context"] = self.context
        return err
