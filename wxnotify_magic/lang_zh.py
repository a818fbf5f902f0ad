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
    "keep the messages in FILE across runs (default: in memory only)":
        "把收到的消息保存在 FILE 中，下次启动仍在（默认只存于内存）",
    "do not print received messages": "不打印收到的消息",
    "language of the page and of printed lines (default auto: from the locale)":
        "页面和打印内容的语言（默认 auto：按系统区域设置）",
    "wxnotify inbox: cannot listen on {host}:{port}: {error}": "wxnotify inbox：无法监听 {host}:{port}：{error}",
    "wxnotify inbox listening on {url}  (export WXNOTIFY_API_BASE={url})":
        "wxnotify inbox 正在监听 {url}（export WXNOTIFY_API_BASE={url}）",

    # --- the message: verdicts, facts, sections (technical text such as tracebacks and output stays as it is)
    "finished": "已完成",
    "failed": "失败",
    "interrupted": "已中断",
    "still running": "仍在运行",
    "message": "消息",
    "{title}{gap}{verdict}": "{title}{gap}{verdict}",
    "{title} {verdict} · {part} of {count}": "{count} 条通知中有 {part} 条{verdict}：{title}",
    "{duration} so far": "已运行 {duration}",
    "{n} s": "{n} 秒",
    "{label}: {value}": "{label}：{value}",
    "Time": "时间",
    "Started": "开始",
    "Host": "主机",
    "Notebook": "笔记本",
    "Cell": "单元格",
    "Last output": "最后的输出",
    "Value": "返回值",
    "Traceback": "错误堆栈",
    "Cell [{count}]": "单元格 [{count}]",
    "{count} cells": "{count} 个单元格",
    "{count} jobs": "{count} 个任务",
    "{count} messages": "{count} 条消息",
    "{count} cells ran for {work} in all": "{count} 个单元格共运行 {work}",
    "{count} jobs ran for {work} in all": "{count} 个任务共运行 {work}",
    ", with 1 message": "，另有 1 条消息",
    ", with {count} messages": "，另有 {count} 条消息",
    "{count} messages in one": "{count} 条消息合为一条",
    "figures of {which} not sent via {service}: it cannot carry an uploaded image":
        "{which} 的图片未通过 {service} 发送：这个推送服务不能上传图片",
    "figures of {which} not sent via {service}: {why}": "{which} 的图片未通过 {service} 发送：{why}",
    "at most {n} figures a message": "每条消息最多 {n} 张图片",
    "epoch {n}": "第 {n} 轮",
    "step {n}": "第 {n} 步",
    "{line} (best {best} @ {where})": "{line}（最佳 {best}，{where}）",
    "{line} (best {best})": "{line}（最佳 {best}）",
    "  … (outer frames cut) …": "  …（省略了外层调用帧）…",
    "%wxnotify history: {problem}": "%wxnotify history：{problem}",
    "wxnotify: stopped waiting (Ctrl-C); what is still sending goes on in the background":
        "wxnotify：已停止等待（Ctrl-C）；尚未发出的消息会在后台继续发送",
    "no destination named {name} is saved in {path}": "{path} 里没有名为 {name} 的推送目标",
    "wxnotify: this rank's failure is counted in the message another rank on this host sends":
        "wxnotify：本 rank 的失败已计入本机另一个 rank 发出的消息",
    "{prog}: error: {problem}": "{prog}：错误：{problem}",
    "%wxsend: option {option} needs a value": "%wxsend：选项 {option} 需要一个值",
    "{problem} (in the default destinations, from {where})": "{problem}（在默认推送目标里，来自 {where}）",
    "{problem} (the fallback of {name}, in WxNotify.fallbacks)":
        "{problem}（{name} 的备用目标，在 WxNotify.fallbacks 里）",
    "the settings file": "设置文件",
    "%%wxnotify: this cell starts with two %%wxnotify lines; keep one (its options can be combined)":
        "%%wxnotify：这个单元格开头有两行 %%wxnotify；请只留一行（选项可以写在同一行）",
    "{notebook} run": "{notebook} 运行结果",
    "notebook run": "笔记本运行结果",
    "If you can read this on your phone, wxnotify works. 🎉":
        "如果你在手机上看到了这条消息，说明 wxnotify 已经可以用了。🎉",
    "wxnotify test": "wxnotify 测试",
    "sent from the settings panel": "从设置面板发送",
    # --- durations
    "empty duration": "时长为空",
    "not a duration: {text!r} (use e.g. 90, 90s, 5m, 1h30m)": "不是有效的时长：{text!r}（例如 90、90s、5m、1h30m）",
    "duration must not be negative: {text}": "时长不能为负数：{text}",
    "duration too long: {text} (at most a year)": "时长太长：{text}（最多一年）",
    # --- figures
    "it is larger than {limit} and Pillow is not installed to shrink it (pip install Pillow)":
        "图片超过 {limit}，且没有安装用来压缩图片的 Pillow（pip install Pillow）",
    "it could not be made smaller than {limit}": "无法压缩到 {limit} 以内",
    "it is not a PNG or JPEG image": "不是 PNG 或 JPEG 图片",
    "it could not be read ({kind})": "无法读取图片（{kind}）",
    "figure not sent via {service}: it cannot carry an uploaded image":
        "图片未通过 {service} 发送：这个推送服务不能上传图片",
    "figure not sent via {service}: {why}": "图片未通过 {service} 发送：{why}",
    # --- receipts and delivery
    "wxnotify: {line}": "wxnotify：{line}",
    "; ": "；",
    "sent via {via} · delivery took {seconds:.1f} s": "已发送（{via}）· 发送用时 {seconds:.1f} 秒",
    ", ": "、",
    "failed ({dest}): {why}": "发送失败（{dest}）：{why}",
    "dropped ({dest}): {why}": "已丢弃（{dest}）：{why}",
    "still sending in the background ({why})": "仍在后台发送（{why}）",
    "dropped": "已丢弃",
    "still sending in the background": "仍在后台发送",
    "pending": "待发送",
    "sending": "发送中",
    "delivered": "已送达",
    "merged": "已合并",
    "merged into message #{id}": "已合并到消息 #{id}",
    "merged into a message sent by another process": "已合并到另一个进程发送的消息中",
    "replaced by a newer progress message": "已被更新的进度消息替代",
    "replaced by a newer message": "已被更新的消息替代",
    "{why} (gave up after {n} attempts)": "{why}（尝试 {n} 次后放弃）",
    "{n} messages merged into one": "{n} 条消息合并为一条",
    "internal error: {kind}: {why}": "内部错误：{kind}：{why}",
    "{why}; handed to the fallback": "{why}；已转交备用目标",
    "fallback ({why})": "备用目标（{why}）",
    "paced: the service's rate limit": "放慢发送：遵守推送服务的频率限制",
    # back-offs per token: a limited token's lane waits; an unreadable answer is tried once more at most (ban)
    "{why}; every message to this token waits until {time} (cool-down)":
        "{why}；发往这个令牌的所有消息暂停到 {time}（冷却）",
    "{why}; every message to this token waits {seconds:.0f} s": "{why}；发往这个令牌的所有消息暂停 {seconds:.0f} 秒",
    "{why}; it may have arrived, so it is tried once more only": "{why}；消息可能已经送达，所以只再试一次",
    "{why}; it may have arrived, so it is not sent again": "{why}；消息可能已经送达，所以不再重发",
    "cool-down until {time}: {why}": "冷却到 {time}：{why}",
    # a home that is not private, and state files that are links (ban)
    "it belongs to another user": "它属于另一个用户",
    "others can write to it": "其他人可以写入",
    "wxnotify: WXNOTIFY_HOME {path} is not used ({why}); using {default} instead":
        "wxnotify：不使用 WXNOTIFY_HOME {path}（{why}），改用 {default}",
    "a symbolic link (not followed)": "是符号链接（不跟随）",
    "{label} URL: a secret is given twice (pasted twice?); give it once":
        "{label} 地址：同一个密钥出现了两次（粘贴了两遍？）；只写一次",
    "daily quota of {quota} nearly used ({label}); progress message dropped to keep room for the final one":
        "每日额度 {quota} 条快用完了（{label}）；已丢弃进度消息，把额度留给最终消息",
    "held until tomorrow: {label} reached its daily limit of {quota}":
        "暂缓到明天发送：{label} 已用完每日额度（{quota} 条）",
    "daily quota of {quota} reached ({label})": "已用完每日额度 {quota} 条（{label}）",
    "held: daily quota of {quota} reached ({label}); sends after midnight":
        "暂缓发送：已用完每日额度 {quota} 条（{label}），午夜后发出",
    "daily quota nearly used: {used} of {quota} today ({label})":
        "每日额度快用完了：今天已用 {used}/{quota} 条（{label}）",
    # --- transport
    "wxnotify: warning: WXNOTIFY_API_BASE is plain http to {host}: tokens travel unencrypted":
        "wxnotify：警告：WXNOTIFY_API_BASE 是指向 {host} 的明文 http，令牌将不加密传输",
    "WXNOTIFY_API_BASE is not a valid URL": "WXNOTIFY_API_BASE 不是有效的 URL",
    "no answer within {seconds:g} s (timeout)": "{seconds:g} 秒内没有响应（超时）",
    "the answer took longer than {seconds:g} s (too slow)": "超过 {seconds:g} 秒才响应（太慢）",
    "connection failed: {why}": "连接失败：{why}",
    "request failed: {why}": "请求失败：{why}",
    # --- providers: names, fields, hints, answers
    "{service} refused the message": "{service} 拒收了消息",
    "{service} answered with something that is not JSON": "{service} 返回的内容不是 JSON",
    "{service} sent no answer": "{service} 没有返回结果",
    "rate limited (HTTP 429)": "被限流（HTTP 429）",
    "server error (HTTP {status})": "服务器错误（HTTP {status}）",
    "the service answered with a redirect (HTTP {status}); not followed":
        "推送服务返回了重定向（HTTP {status}），未跟随",
    # --- destinations
    "{label} is required": "{label}：不能为空",
    "this value": "这个值",
    "{label}: {shown} does not look right ({hint})": "{label}：{shown}，格式不对（{hint}）",
    "unexpected format": "格式不符合预期",
    "value": "值",
    " or ": " 或 ",
    "none": "无",
    "{label}: the URL is malformed": "{label}：URL 格式错误",
    "{label}: a value in the URL is not a valid {what}": "{label}：URL 里有一个值不是有效的{what}",
    "{label} URL: unknown parameter ?{key}= (known: {known})": "{label} URL：未知参数 ?{key}=（支持：{known}）",
    "{label} destination: {problem}": "{label} 推送目标：{problem}",
    "{label} destination needs at least one of: {fields} (e.g. {example})":
        "{label} 推送目标至少需要以下之一：{fields}（例如 {example}）",
    "not a destination URL (expected e.g. wxpusher://AT_xxx/UID_xxx)":
        "不是推送目标 URL（应形如 wxpusher://AT_xxx/UID_xxx）",
    "unknown destination type {scheme}:// (known: {known})": "未知的推送目标类型 {scheme}://（支持：{known}）",
    "(value hidden)": "（值已隐去）",
    # --- settings
    "config": "IPython 配置",
    "env": "环境变量",
    "file": "设置文件",
    "default": "默认",
    "{name} must be between 0 and {maximum:g} seconds": "{name} 必须在 0 到 {maximum:g} 秒之间",
    "{name} must be {minimum} or more": "{name} 必须大于等于 {minimum}",
    "no destination configured: run %wxnotify config (or `wxnotify config add NAME`), export WXNOTIFY_TO, or pass "
    "--to NAME":
        "还没有配置推送目标：运行 %wxnotify config（或 `wxnotify config add NAME`），设置环境变量 WXNOTIFY_TO，或"
        "加上 --to NAME",
    "none saved": "还没有保存推送目标",
    "unknown destination name {name} (named destinations: {known})":
        "没有名为 {name} 的推送目标（已保存的名称：{known}）",
    "wxnotify: ignoring unreadable settings file {path}: {kind}": "wxnotify：忽略无法读取的设置文件 {path}：{kind}",
    "wxnotify: ignoring {key} in {path}: {problem}": "wxnotify：忽略 {path} 里的 {key}：{problem}",
    "Default destinations: URLs or names from `destinations`.": "默认推送目标：URL，或 `destinations` 里的名称。",
    "Named destinations, e.g. {'me': 'wxpusher://AT_.../UID_...'}.":
        "有名称的推送目标，例如 {'me': 'wxpusher://AT_.../UID_...'}。",
    "Fallback per destination name: {'me': 'team'} takes over when 'me' fails permanently or is over quota.":
        "每个推送目标的备用目标：{'me': 'team'} 表示 'me' 永久失败或额度用完时由 'team' 接替。",
    "Notify only for cells that ran at least this long (seconds or '5m').":
        "最短通知时长：单元格运行不到这么久就不通知（秒数或 '5m'）。",
    "Lines of output to include.": "附带的输出行数。",
    "When to notify.": "何时通知。",
    "Seconds %wxnotify test, %wxsend and scripts wait for the delivery receipt (cells never wait).":
        "%wxnotify test、%wxsend 和脚本等待发送回执的秒数（单元格从不等待）。",
    "Print no delivery status line.": "不打印发送状态行。",
    "Notify for every long or failed cell.": "为每个耗时长或失败的单元格发通知。",
    "Also send the last image a cell displayed (WeCom bots; others say it was not sent).":
        "同时发送单元格最后显示的图片（企业微信群机器人；其他推送服务会说明未发送）。",
    "In auto mode, gather back-to-back cells into one digest.": "自动模式下，把连续运行的单元格汇总成一条。",
    "Seconds of idleness that end a batch (Run All) in auto mode.":
        "自动模式下，空闲多少秒算一次批量运行（Run All）结束。",
    "Daily quota per provider, e.g. {'serverchan': 5}.": "每个推送服务的每日额度，例如 {'serverchan': 5}。",
    "Language of messages and output: auto (from the locale), zh or en.":
        "消息和输出的语言：auto（跟随系统区域设置）、zh 或 en。",
    # --- the session's text: status, history, settings
    "default destinations from: {source}; settings file: {path}": "默认推送目标来自：{source}；设置文件：{path}",
    "notify after {after}, {on}; tail {tail} lines; wait {wait:g} s":
        "最短通知时长 {after}；{on}；附带 {tail} 行输出；回执最多等待 {wait:g} 秒",
    "  ({command} sends them again)": "  （{command} 会重新发送）",
    "outbox: {pending} pending, {failed} failed": "发件箱：{pending} 条待发送，{failed} 条失败",
    "destinations: {problem}": "推送目标：{problem}",
    "{label}: {used} of {quota} {today}": "{label}：{today}已用 {used}/{quota}",
    "{label}: {used} of {count} {window}": "{label}：{window}已用 {used}/{count}",
    "in the last minute": "最近 1 分钟内",
    "in the last hour": "最近 1 小时内",
    "in the last {duration}": "最近 {duration}内",
    " (fallback: {dest})": "（备用目标：{dest}）",
    "wxnotify settings (secrets redacted):": "wxnotify 设置（密钥已隐去）：",
    "settings file: {path}": "设置文件：{path}",
    "add a destination without putting its token in a notebook: `wxnotify config add NAME` in a terminal, or "
    "%wxnotify config in Jupyter":
        "添加推送目标而不把令牌写进笔记本：在终端运行 `wxnotify config add NAME`，或在 Jupyter 里运行 %wxnotify c"
        "onfig",
    "wxnotify: no notifications yet": "wxnotify：还没有通知",
    "on must be always, success or failure": "on 必须是 always、success 或 failure",
    "--every must be a positive duration": "--every 必须是正的时长",
    "{name} must be at most {maximum}": "{name} 不能大于 {maximum}",
    "tail must be a whole number of lines": "tail 必须是整数行数",
    "to must be a destination URL or name, or a list of them": "to 必须是推送目标 URL 或名称，或者由它们组成的列表",
    "wait must be a number of seconds": "wait 必须是秒数（数字）",
    "title must be text": "title 必须是文本",
    "quotas: unknown provider {name} (known: {known})": "quotas：未知的推送服务 {name}（已知：{known}）",
    "quotas: the daily quota of {name} must be 0 or more": "quotas：{name} 的每日额度不能小于 0",
    "wxnotify: interrupted while waiting for the receipt; the message stays queued and is sent in the background "
    "(at exit, or by the next wxnotify)":
        "wxnotify：等待回执时被中断；消息仍在队列中，将在后台发送（退出时，或由下一次 wxnotify 发送）",
    # --- the magics and the IPython side
    "Title of the message (default: the cell's first comment).": "消息标题（默认：单元格的第一行注释）。",
    "Notify only if the cell ran at least this long (90, 5m, 1h30m).":
        "最短通知时长：单元格运行不到这么久就不通知（90、5m、1h30m）。",
    "Destination URL or saved name (repeatable); default WxNotify.to.":
        "推送目标 URL 或已保存的名称（可重复）；默认为 WxNotify.to。",
    "Lines of output to include (default 20).": "附带的输出行数（默认 20）。",
    "Also send a progress message at this interval (e.g. 30m).": "每隔这么久再发一条进度消息（例如 30m）。",
    "Leave output and values out of the message.": "消息里不附带输出和返回值。",
    "Also send the last image the cell displayed.": "同时发送单元格最后显示的图片。",
    "Destination (default: WxNotify.to).": "推送目标（默认：WxNotify.to）。",
    "How many of the latest messages (default 10).": "显示最近多少条消息（默认 10）。",
    "Turn auto mode on or off.": "打开或关闭自动模式。",
    "Notify cells running at least this long (default 1m).": "单元格运行满这么久才通知（默认 1m）。",
    "One digest per Run All instead of one message per cell.": "每次 Run All 汇总成一条，而不是每个单元格一条。",
    "Idle time that ends a Run All (default 2s).": "空闲多久算 Run All 结束（默认 2s）。",
    "Title of the message.": "消息标题。",
    "Destination (repeatable).": "推送目标（可重复）。",
    "The message; {expr} and $var expand as in any line magic.":
        "消息内容；和其他行魔法一样，{expr} 和 $var 会被展开。",
    "%wxnotify: unknown command {word}; try %wxnotify? for the commands":
        "%wxnotify：未知命令 {word}；用 %wxnotify? 查看命令",
    "%wxsend: nothing to send (usage: %wxsend [-t TITLE] [--to DEST] text)":
        "%wxsend：没有要发送的内容（用法：%wxsend [-t TITLE] [--to DEST] text）",
    "%wxsend: unknown option {option} (options: -t TITLE, --to DEST)":
        "%wxsend：未知选项 {option}（可用选项：-t TITLE、--to DEST）",
    "wxnotify: auto mode off": "wxnotify：自动模式已关闭",
    "wxnotify: auto mode was not on": "wxnotify：自动模式本来就没有打开",
    "wxnotify: auto mode on: cells running {after} or longer, and every failure; {mode}":
        "wxnotify：自动模式已打开：运行满 {after}的单元格和所有失败的单元格都会通知；{mode}",
    "one digest per run (idle after {seconds:g} s)": "每次运行汇总成一条（空闲 {seconds:g} 秒后发出）",
    "one message per cell": "每个单元格一条消息",
    "wxnotify: could not watch this cell ({problem})": "wxnotify：无法监视这个单元格（{problem}）",
    "wxnotify: notification not sent ({problem})": "wxnotify：通知未发送（{problem}）",
    "wxnotify: could not show the receipt ({problem})": "wxnotify：无法显示回执（{problem}）",
    "wxnotify: auto mode not started: {problem}": "wxnotify：自动模式未启动：{problem}",
    "wxnotify: pending messages not resumed ({kind})": "wxnotify：未能恢复待发送的消息（{kind}）",
    "{who}: {problem}": "{who}：{problem}",
    "Push a WeChat notification when this cell ends.\n\nLine form: "
    "``%wxnotify [status|config|test|retry|history|auto|wait|help]``, see below.":
        "单元格结束时推送一条微信通知。\n\n行形式："
        "``%wxnotify [status|config|test|retry|history|auto|wait|help]``，见下文。",
    "Show destinations (redacted), today's counts against each limit, pending and failed "
    "messages.":
        "显示推送目标（密钥已隐去）、今天各项额度的用量、待发送和失败的消息。",
    "Send failed and pending messages again now.": "立即重新发送失败和待发送的消息。",
    "List the latest messages and what became of them.": "列出最近的消息及其结果。",
    "Show the settings panel (in a terminal: print the settings).": "显示设置面板（在终端里：打印设置）。",
    "Wait until every notification sent from here has settled, and say how it went. In a notebook, end with it "
    "to keep the final receipts (the cells themselves never wait for delivery).":
        "等待从这里发出的每条通知都有结果，并说明结果。在笔记本里用它作结尾，可以留住最后的回执（单元格本身从不等"
        "待发送完成）。",
    "Show this help (also ``%%wxnotify -h`` and ``%wxnotify --help``).":
        "显示本帮助（也可以用 ``%%wxnotify -h`` 和 ``%wxnotify --help``）。",
    "Notify for every long or failed cell (or one digest per Run All).":
        "为每个耗时长或失败的单元格发通知（或每次 Run All 汇总成一条）。",
    "Send a message now: ``%wxsend [-t TITLE] [--to DEST ...] text``.":
        "立即发送一条消息：``%wxsend [-t TITLE] [--to DEST ...] text``。",
    # argparse's and shlex's complaints about an option line, and argparse's help headings (i18n.tr_usage, tr_help)
    "argument {name}: {problem}": "参数 {name}：{problem}",
    "unrecognized arguments: {args}": "无法识别的参数：{args}",
    "invalid choice: {value} (choose from {choices})": "{value} 不是可选的值（可选：{choices}）",
    "invalid int value: {value}": "不是整数：{value}",
    "invalid float value: {value}": "不是数字：{value}",
    "invalid {type} value: {value}": "不是有效的 {type} 值：{value}",
    "expected one argument": "需要一个值",
    "expected at most one argument": "最多需要一个值",
    "expected at least one argument": "至少需要一个值",
    "expected {n} argument(s)": "需要 {n} 个值",
    "the following arguments are required: {names}": "缺少必需的参数：{names}",
    "one of the arguments {names} is required": "需要以下参数之一：{names}",
    "not allowed with argument {name}": "不能和参数 {name} 一起使用",
    "ignored explicit argument {value}": "这个选项不接受值：{value}",
    "ambiguous option: {option} could match {matches}": "选项 {option} 有歧义：可能是 {matches}",
    "No closing quotation": "引号没有闭合",
    "No escaped character": "反斜杠后面缺少字符",
    "usage:": "用法：",
    "options:": "选项：",
    "positional arguments:": "位置参数：",
    "show this help message and exit": "显示本帮助并退出",
    # --- the Python API
    "wxnotify: not sent from rank {rank} (all_ranks=True sends anyway)":
        "wxnotify：rank {rank} 不发送（all_ranks=True 时照样发送）",
    "wxnotify: not watching this job ({problem})": "wxnotify：没有监视这个任务（{problem}）",
    "wxnotify: not sent: it did not fail, and it notifies on failure only (--on failure)":
        "wxnotify：未发送：运行没有失败，而这里只在失败时通知（--on failure）",
    "wxnotify: not sent: it did not succeed, and it notifies on success only (--on success)":
        "wxnotify：未发送：运行没有成功，而这里只在成功时通知（--on success）",
    "wxnotify: not sent: it ran {took}, less than the shortest run to notify, {after} (--after 0 notifies every run)":
        "wxnotify：未发送：只运行了 {took}，短于最短通知时长 {after}（用 --after 0 则每次都通知）",
    # --- the command line
    "Push WeChat notifications (WxPusher, PushPlus, ServerChan, WeCom bots) from the command line.":
        "在命令行推送微信通知（WxPusher、PushPlus、Server酱、企业微信群机器人）。",
    "send a message now": "立即发送一条消息",
    "title of the message": "消息标题",
    "send a test message": "发送一条测试消息",
    "Send a test message.": "发送一条测试消息。",
    "destinations, today's counts, pending and failed messages": "推送目标、今天的发送次数、待发送和失败的消息",
    "Show destinations (redacted), today's counts and the outbox.":
        "显示推送目标（密钥已隐去）、今天的发送次数和发件箱。",
    "send failed and pending messages again": "重新发送失败和待发送的消息",
    "Queue failed messages again and send what is pending.": "把失败的消息重新排队，并发送待发送的消息。",
    "seconds to wait for them (default {seconds:g})": "最多等待多少秒（默认 {seconds:g}）",
    "add, list or remove saved destinations (tokens stay out of notebooks)":
        "添加、列出或删除已保存的推送目标（令牌不会写进笔记本）",
    "Save destinations in the settings file; `add` asks for the URL without echoing it, so the token stays out of "
    "notebooks and shell history.":
        "把推送目标保存在设置文件里；`add` 询问 URL 时不回显输入，令牌因此不会出现在笔记本和 shell 历史里。",
    "the destination's name (--to NAME)": "推送目标的名称（--to NAME）",
    "add it without making it the default": "添加但不设为默认",
    "run the local emulator of the push services (wxnotify inbox --help)":
        "运行推送服务的本地模拟器（wxnotify inbox --help）",
    "run a command and notify when it ends": "运行一条命令，结束时通知",
    "Run CMD with its output streamed through unchanged, then send its status, duration and the tail of its "
    "output. Returns CMD's exit code.": "运行 CMD，它的输出照常显示；结束后发送它的状态、耗时和最后的输出。"
                                        "返回 CMD 的退出码。",
    "title (default: the command line)": "标题（默认：命令行本身）",
    "notify a success only if it ran at least this long (90, 5m, 1h30m)":
        "成功时，运行满这么久才通知（90、5m、1h30m）",
    "when to notify": "何时通知",
    "lines of output to include": "附带的输出行数",
    "also send progress pings": "同时发送进度消息",
    "leave the output out of the message": "消息里不附带输出",
    "print no delivery status line unless it failed": "除非发送失败，否则不打印发送状态行",
    "send success from every rank, not rank 0 only": "每个 rank 都发送成功通知，而不只是 rank 0",
    "the command and its arguments": "命令及其参数",
    "destination URL or saved name (repeatable; default: WxNotify.to / $WXNOTIFY_TO)":
        "推送目标 URL 或已保存的名称（可重复；默认：WxNotify.to / $WXNOTIFY_TO）",
    "wxnotify: {count} failed message(s) queued again; {pending} pending, {failed} failed now":
        "wxnotify：{count} 条失败的消息已重新排队；现在 {pending} 条待发送，{failed} 条失败",
    "wxnotify: not sent from rank {rank} (--all-ranks sends anyway)":
        "wxnotify：rank {rank} 不发送（加 --all-ranks 照样发送）",
    "config {action} needs a NAME": "config {action} 需要一个 NAME",
    "wxnotify: removed {name} from {path}": "wxnotify：已从 {path} 删除 {name}",
    "destination URL for {name} (input hidden): ": "{name} 的推送目标 URL（输入不显示）：",
    "no URL given": "没有输入 URL",
    "wxnotify: saved {name} = {url} in {path}": "wxnotify：已把 {name} = {url} 保存到 {path}",
    "no command given (usage: wxnotify run [options] -- CMD [ARGS ...])":
        "没有给出命令（用法：wxnotify run [options] -- CMD [ARGS ...]）",
    "command not found": "找不到命令",
    "cannot run command ({problem})": "无法运行命令（{problem}）",
    "{command} exited with code {code}": "{command} 以退出码 {code} 结束",
    # --- the settings panel
    "wxnotify settings": "wxnotify 设置",
    "Language": "语言",
    "automatic (from the system)": "自动（跟随系统）",
    "Channel": "推送服务",
    "Open {site}": "打开 {site}",
    "Name": "名称",
    "use it as --to NAME": "用 --to NAME 指定它",
    "Shortest run": "最短通知时长",
    "shortest run to notify (--after): a cell that ends sooner sends nothing":
        "最短通知时长（--after）：更早结束的单元格不发通知",
    "Output lines": "输出行数",
    "Notify on": "通知时机",
    "always": "总是",
    "on success only": "仅成功时",
    "on failure only": "仅失败时",
    "Save": "保存",
    "Send test message": "发送测试消息",
    "Saved destinations": "已保存的推送目标",
    "Remove": "删除",
    "none saved yet": "还没有保存推送目标",
    " · default": " · 默认",
    " (IPython config)": "（IPython 配置）",
    "default: {destinations}": "默认：{destinations}",
    "(overridden by env WXNOTIFY_TO)": "（被环境变量 WXNOTIFY_TO 覆盖）",
    "(set in IPython config)": "（在 IPython 配置中设置）",
    "{note} {source}": "{note}{source}",
    "{value} ({word})": "{value}（{word}）",
    "default: none yet (Save makes the destination above the default)":
        "默认：还没有（点“保存”后，上面这个推送目标就成为默认）",
    "{value} looks like a {service} {field}, not a {label}": "{value} 看起来是 {service} 的{field}，不是{label}",
    "{name} is already saved ({url}): Save again to replace it, or choose another name":
        "{name} 已经保存过（{url}）：再点一次“保存”即替换它，或者换一个名称",
    "typed, not saved": "已输入，未保存",
    "saved": "已保存",
    "a name is letters, digits, '.', '_' or '-' (e.g. me)": "名称只能包含字母、数字、'.'、'_' 或 '-'（例如 me）",
    "must be 0 or more": "不能小于 0",
    "fix the marked values to save": "请先修改标出的值再保存",
    "not saved yet": "尚未保存",
    "not saved: fix the marked values first": "未保存：请先修改标出的值",
    "saved to {path}; applied to this session": "已保存到 {path}；已应用到当前会话",
    " (env or IPython config still decide: {names})": "（环境变量或 IPython 配置仍然优先：{names}）",
    "not sent: fix the marked values first": "未发送：请先修改标出的值",
    "not sent: {problem}": "未发送：{problem}",
    "sending a test message…": "正在发送测试消息…",
    "removed {name} from {path}": "已从 {path} 删除 {name}",
    "in Jupyter, %wxnotify config shows a settings panel instead": "在 Jupyter 里，%wxnotify config 会显示设置面板",
    # apprise URL forms, other services through apprise, clusters, the command line
    "Send TEXT now (or -b BODY; with neither, the body is read from stdin).":
        "立即发送 TEXT（或 -b BODY；两者都没有时从标准输入读取正文）。",
    "also send a message when the command starts": "命令开始时也发送一条消息",
    "exit 0 once the message is queued (it is still sent before exit, bounded)":
        "消息放入发件箱后即以 0 退出（退出前仍会在有限时间内发送）",
    "seconds to wait for delivery (default: WxNotify.wait, at least {seconds:g})":
        "等待送达的秒数（默认：WxNotify.wait，至少 {seconds:g}）",
    "send even when this process is not rank 0": "即使本进程不是 rank 0 也发送",
    "the message ('-' or nothing reads it from stdin)": "消息内容（写 '-' 或不写则从标准输入读取）",
    "the message (the same as TEXT)": "消息内容（与 TEXT 相同）",
    "; any other service through apprise: {command}": "；其他服务可通过 apprise 使用：{command}",
    "a different value": "其他取值",
    "give the message once: TEXT or -b BODY": "消息只能给一次：TEXT 或 -b BODY",
    "nothing to send: give TEXT, -b BODY, or pipe the message in":
        "没有要发送的内容：请给出 TEXT、-b BODY，或用管道传入消息",
    "started": "已开始",
    "wxnotify: not delivered within the wait{why}; it stays queued in the outbox ({command} sends it)":
        "wxnotify：等待时间内未送达{why}；消息留在发件箱中排队（{command} 会重新发送）",
    "wxnotify: queued in the outbox; sending it before exit (not waiting for the answer)":
        "wxnotify：已放入发件箱；退出前会尝试发送（不等待服务的答复）",
    "wxnotify: {n} message(s) still queued in the outbox; they go out the next time wxnotify runs "
    "(or with wxnotify retry)":
        "wxnotify：还有 {n} 条消息留在发件箱中，下次运行 wxnotify 时发出（或用 wxnotify retry 发送）",
    "wxnotify: {n} message(s) still queued; the watchdog delivers them once the kernel has ended":
        "wxnotify：还有 {n} 条消息在排队；内核结束后由看门狗进程发出",
    "wxnotify: the outbox is locked by another process; nothing queued again (try again later)":
        "wxnotify：发件箱正被另一个进程锁定，未重新排队任何消息（请稍后再试）",
    "wxnotify: {n} message(s) still pending, kept in the outbox ({command} sends them)":
        "wxnotify：还有 {n} 条消息未发出，已保存在发件箱（{command} 会重新发送）",
    "{count} of {size} ranks on {host} failed (ranks {failed})":
        "{host} 上 {size} 个 rank 中有 {count} 个失败（rank {failed}）",
    "{count} rank(s) on {host} failed (ranks {failed})": "{host} 上有 {count} 个 rank 失败（rank {failed}）",
    "{label} URL: ?{key}={value} is not supported (accepted: {accepted})":
        "{label} URL：不支持 ?{key}={value}（可用：{accepted}）",
    "{label} URL: a name@ before the host is not supported": "{label} URL：不支持主机前的 name@",
    "{label} URL: the host and ?token= disagree; put the token in one place":
        "{label} URL：主机部分和 ?token= 不一致；令牌只写一处",
    "{label} URL: unexpected path /{part} (it takes only {fields})":
        "{label} URL：多余的路径 /{part}（只需要 {fields}）",
    "{label} URL: {where} gives {name} a second, different value": "{label} URL：{where} 给 {name} 设了第二个不同的值",
    # -- the watchdog, the stall alarm, resources -------------------------------------------------------
    "kernel died while running cell [{count}] '{title}' after {elapsed}":
        "单元格 [{count}]“{title}”运行 {elapsed}后，内核崩溃退出",
    "the process died while running '{title}' after {elapsed}": "“{title}”运行 {elapsed}后，进程意外终止",
    "the machine restarted": "机器已重启",
    "unknown; found when the next kernel started": "未知；下一个内核启动时发现",
    "no output for {silence}": "已经 {silence}没有输出",
    "no output for {silence}; last line: {line}": "已经 {silence}没有输出；最后一行：{line}",
    "the out-of-memory killer acted in the memory cgroup": "内存 cgroup 触发了 OOM killer（内存不足时终止进程）",
    "memory reached {percent}% of its {limit} limit": "内存达到上限 {limit} 的 {percent}%",
    "address space reached {percent}% of its {limit} limit (ulimit -v)":
        "地址空间达到上限 {limit} 的 {percent}%（ulimit -v）",
    "the system's out-of-memory killer acted": "系统触发了 OOM killer（内存不足时终止进程）",
    "a restart was requested while it ran": "运行期间收到了重启请求",
    "a shutdown was requested while it ran": "运行期间收到了关闭请求",
    "killed by {signal}, likely out of memory ({evidence})": "被 {signal} 终止，很可能是内存不足（{evidence}）",
    "killed by {signal}": "被 {signal} 终止",
    "exited with code {code}": "以退出码 {code} 结束",
    "likely out of memory ({evidence})": "很可能是内存不足（{evidence}）",
    "Peak memory": "内存峰值",
    "GPU {index} peak": "GPU {index} 峰值",
    "{command} {cause}": "{command} {cause}",
    "--stall must be a positive duration": "--stall 必须是正的时长",
    "died": "已崩溃",
    "stalled": "长时间无输出",
    "Send one message when the cell prints nothing for this long (e.g. 30m).":
        "单元格持续这么久没有任何输出时发一条消息（如 30m）。",
    "send one message when the command prints nothing for this long": "命令持续这么久没有任何输出时发一条消息",
    "Send one message when a watched job prints nothing for this long (0: off).":
        "被监视的任务持续这么久没有任何输出时发一条消息（0：关闭）。",
    "Report a kernel that dies while a watched cell runs (a small helper process outlives the kernel).":
        "被监视的单元格运行时内核崩溃也会通知（由一个比内核活得久的小辅助进程负责）。",
    # --- secrets and resilience
    "wxnotify: warning: a token is written in this cell, so it is saved in the notebook and in IPython's history. "
    "Keep it out: save it once with %wxnotify config (panel) or `wxnotify config add NAME` in a terminal and use "
    "--to NAME, or export WXNOTIFY_TO.":
        "wxnotify：警告：这个单元格里写着令牌，它会随笔记本保存，也会留在 IPython 的历史记录里。"
        "请不要这样写：用 %wxnotify config（设置面板）或在终端运行 `wxnotify conf"
        "ig add NAME` 保存一次，然后用 --to NAME；或者设置环境变量 WXNOTIFY_TO"
        "。",
    "NAME is a short name of letters, digits, _ . or - (the URL is asked for next, hidden)":
        "名称应是由字母、数字、_ . 或 - 组成的短名字（URL 会在下一步以隐藏输入的方式询问）",
    "not a duration (use e.g. 90, 90s, 5m, 1h30m)": "不是有效的时长（例如 90、90s、5m、1h30m）",
    "wxnotify: the outbox {path} could not be read ({why}); kept it as {aside} and started a new one":
        "wxnotify：发件箱 {path} 无法读取（{why}）；已保留为 {aside}，并新建了一个发件箱",
    "wxnotify: cannot write the outbox in {folder} ({why}); sending from memory: pending messages will not survive "
    "a restart":
        "wxnotify：无法在 {folder} 写入发件箱（{why}）；改为在内存中发送：尚未发出的消息在重启后将不复存在",
    "the outbox is locked by another process": "发件箱正被另一个进程锁定",
    "wxnotify: {n} pending message(s) stay in the outbox until it can be written again (sent now, every later run "
    "would send them again)":
        "wxnotify：发件箱中有 {n} 条待发消息将保留到发件箱可以写入为止（现在发出的话，以后每次运行都会再发一遍）",
    "settled while the outbox could not be written": "在发件箱无法写入期间已处理",
    "lost with the damaged outbox (kept as {aside})": "随损坏的发件箱一同丢失（已保留为 {aside}）",
    "waiting for the outbox: another process is writing it": "正在等待发件箱：另一个进程正在写入",
    "wxnotify {command}: cannot write {path}: {why}": "wxnotify {command}：无法写入 {path}：{why}",
    # receipts in a notebook, updated in place; %wxnotify wait
    "wxnotify: sending…": "wxnotify：发送中…",
    "Wait at most this long (default 60 s; 90, 5m, 1h).": "最多等待这么久（默认 60 秒；可写 90、5m、1h）。",
    "wxnotify: every notification has settled": "wxnotify：所有通知都已有结果",
    "wxnotify: {n} notification(s) settled": "wxnotify：{n} 条通知已有结果",
    "{n} held ({why})": "{n} 条暂缓发送（{why}）",
    "{n} held": "{n} 条暂缓发送",
    "{n} still sending after {seconds:g} s": "等了 {seconds:g} 秒，仍有 {n} 条在发送",
    "wxnotify: {subject}: {line}": "wxnotify：{subject}：{line}",
    "{n} notifications from cells {cells}": "单元格 {cells} 的 {n} 条通知",
    "{n} notifications": "{n} 条通知",
    "{n} notifications from cell {cell}": "单元格 {cell} 的 {n} 条通知",
    # the limits ledger, service days, network homes (cluster)
    "today (Beijing time)": "今天（北京时间）",
    "today ({zone})": "今天（{zone}）",
    "this host": "本机",
    "the shared ledger is too busy": "共享计数库太忙",
    "this host (the redis package is missing for {url})": "本机（缺少 redis 包，无法使用 {url}）",
    "this host ({url} cannot be reached)": "本机（连不上 {url}）",
    "wxnotify: the shared ledger {url} is back; counting limits there again":
        "wxnotify：共享计数库 {url} 已恢复，额度重新在那里计数",
    "wxnotify: the shared ledger {url} cannot be reached ({why}); counting limits on this host until it is back":
        "wxnotify：连不上共享计数库 {url}（{why}），恢复之前额度在本机计数",
    "wxnotify: WXNOTIFY_LEDGER needs the redis package (pip install 'wxnotify-magic[redis]'); counting limits on "
    "this host only":
        "wxnotify：WXNOTIFY_LEDGER 需要 redis 包（pip install 'wxnotify-magic[redis]'），额度只在本机计数",
    "{count} of {size} ranks failed (ranks {failed})": "{size} 个进程中有 {count} 个失败（rank {failed}）",
    "limits counted in: {where}": "额度计数：{where}",
    "ledger: a redis://host:6379/0 URL, or '' for this host":
        "ledger：填 redis://host:6379/0 这样的地址，或留空表示本机",
    "Where the limits are counted: '' (this host) or redis://host:6379/0, shared by every host of a group "
    "(WXNOTIFY_LEDGER wins).":
        "额度在哪里计数：留空为本机，或填 redis://host:6379/0，由一组机器共用（WXNOTIFY_LEDGER 优先）。",
    "wxnotify: {why}": "wxnotify：{why}",
    "state (outbox, watchdog) kept on this host in {folder}: {home} is on {fs}, where SQLite cannot be shared "
    "safely": "状态（发件箱、看门狗）保存在本机的 {folder}：{home} 位于 {fs} 上，SQLite 在那里不能安全共享",
    "Shared ledger": "共享计数库",
    "wxnotify: this rank's failure is counted in the message another rank of the job sends":
        "wxnotify：本进程的失败已计入本作业另一个 rank 发送的消息",
}
