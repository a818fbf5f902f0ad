"""Chinese (简体中文) entries of the language table, keyed by the English text (see ``i18n.py``)."""

from __future__ import annotations

ZH: dict[str, str] = {
    # the local inbox: its page and its command line
    "wxnotify inbox": "wxnotify 收件箱",
    "{n} message · live": "{n} 条消息 · 实时更新",
    "{n} messages · live": "{n} 条消息 · 实时更新",
    "inbox not reachable, retrying…": "连不上收件箱，正在重试…",
    "Markdown and HTML are shown as plain text: pip install 'wxnotify-magic[inbox]'":
        "Markdown 和 HTML 按纯文本显示：pip install 'wxnotify-magic[inbox]'",
    "No messages yet. Point a client at this inbox:": "还没有消息。让客户端把消息发到这个收件箱：",
    "fault injected: {kind}": "注入的故障：{kind}",
    "rejected by the service: {code} {msg}": "服务拒收：{code} {msg}",
    "Show {n} earlier lines": "展开前面 {n} 行",
    "Show {n} more lines": "展开中间 {n} 行",
    "image": "图片",
    "fault: {kind}": "故障：{kind}",
    "rejected: {code} {msg}": "拒收：{code} {msg}",
    "image, {size} KB": "图片，{size} KB",
    "Local emulator of push services.": "推送服务的本地模拟器。",
    "address to bind (default 127.0.0.1)": "监听地址（默认 127.0.0.1）",
    "port (default 8787; 0 picks a free one)": "端口（默认 8787；0 表示任选一个空闲端口）",
    "do not print received messages": "不打印收到的消息",
    "language of the page and of printed lines (default auto: from the locale)":
        "页面和打印内容的语言（默认 auto：按系统区域设置）",
    "wxnotify inbox: cannot listen on {host}:{port}: {error}": "wxnotify inbox：无法监听 {host}:{port}：{error}",
    "wxnotify inbox listening on {url}  (export WXNOTIFY_API_BASE={url})":
        "wxnotify inbox 正在监听 {url}  （export WXNOTIFY_API_BASE={url}）",
}
