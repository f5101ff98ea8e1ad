//! The console's HTML: escaping, the page frame with its navigation and
//! style sheet (embedded: no CDN, no script), and the few pieces every page
//! shares. Everything shown is escaped here, once: a plugin's message, a
//! company's settings or a recorded body never becomes markup.

use std::fmt::Write as _;

/// `text` with `& < > " '` escaped, for element content and attribute
/// values alike.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// `value` as a query-string component.
pub fn query_value(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// The console's pages, for the navigation.
const NAV: &[(&str, &str)] = &[
    ("/console", "Overview"),
    ("/console/decisions", "Decisions"),
    ("/console/plugins", "Plugins"),
    ("/console/companies", "Companies"),
];

/// The style sheet: system fonts, contrast of at least 4.5:1 for text,
/// visible focus, tables that scroll sideways on a phone.
const STYLE: &str = "
:root{color-scheme:light;--ink:#1b1f24;--muted:#4b5563;--line:#d0d7de;--bg:#ffffff;--band:#f3f4f6;--accent:#0b5cad;--fail:#a3191f;--retry:#8a4b00;--pass:#1a6b34}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:var(--ink);background:var(--bg)}
header{background:var(--band);border-bottom:1px solid var(--line);padding:.5rem 1rem;display:flex;flex-wrap:wrap;gap:1rem;align-items:center}
header strong{font-size:1.1rem}
nav ul{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:.75rem}
a{color:var(--accent)}
a:focus,button:focus,input:focus,select:focus{outline:3px solid var(--accent);outline-offset:2px}
main{padding:1rem;max-width:80rem;margin:0 auto}
h1{font-size:1.5rem;margin:.5rem 0 1rem}
h2{font-size:1.2rem;margin:1.5rem 0 .5rem}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{border-bottom:1px solid var(--line);padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:var(--band)}
code,pre{font:14px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace}
pre{white-space:pre-wrap;word-break:break-all;background:var(--band);padding:.5rem;margin:.25rem 0}
.fail{color:var(--fail);font-weight:600}.retry{color:var(--retry);font-weight:600}.proceed{color:var(--pass);font-weight:600}
.muted{color:var(--muted)}
form.inline{display:inline-flex;flex-wrap:wrap;gap:.5rem;align-items:end;margin:.25rem 0}
label{display:flex;flex-direction:column;font-size:.9rem;color:var(--muted)}
input,select,button{font:inherit;padding:.3rem .5rem;border:1px solid var(--muted);border-radius:4px;background:var(--bg);color:var(--ink)}
button{background:var(--accent);color:#fff;border-color:var(--accent);cursor:pointer}
.notice{border:1px solid var(--line);border-left:4px solid var(--accent);padding:.5rem 1rem;background:var(--band)}
.error{border-left-color:var(--fail)}
ol.timeline{padding-left:1.25rem}
svg[role=img]{max-width:40rem;height:auto;display:block}
svg text{font:12px system-ui,sans-serif;fill:var(--ink)}
";

/// A whole page: `title`, then `body` (already escaped markup).
pub fn frame(title: &str, body: &str) -> String {
    let mut nav = String::new();
    for (href, label) in NAV {
        let _ = write!(nav, "<li><a href=\"{href}\">{label}</a></li>");
    }
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · preflight</title><style>{STYLE}</style></head><body>\
         <header><strong>preflight</strong><nav aria-label=\"Console\"><ul>{nav}</ul></nav></header>\
         <main id=\"main\"><h1>{title}</h1>{body}</main></body></html>",
        title = escape(title),
    )
}

/// A verdict as a word styled by what it means.
pub fn verdict(verdict: &str, reason: Option<&str>) -> String {
    let class = match verdict {
        "fail" | "fault" => "fail",
        "retry" => "retry",
        _ => "proceed",
    };
    match reason {
        Some(reason) => format!(
            "<span class=\"{class}\">{}</span> <span class=\"muted\">{}</span>",
            escape(verdict),
            escape(reason)
        ),
        None => format!("<span class=\"{class}\">{}</span>", escape(verdict)),
    }
}

/// A check's status as a word styled by what it means.
pub fn status(status: &str) -> String {
    let class = match status {
        "failed" => "fail",
        "unverified" => "retry",
        "passed" => "proceed",
        _ => "muted",
    };
    format!("<span class=\"{class}\">{}</span>", escape(status))
}

/// A table of `rows` under `headers` (cells already markup), in a box that
/// scrolls sideways on narrow screens; `caption` names it for screen
/// readers.
pub fn table(caption: &str, headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut html = format!(
        "<div class=\"scroll\"><table><caption class=\"muted\">{}</caption><thead><tr>",
        escape(caption)
    );
    for header in headers {
        let _ = write!(html, "<th scope=\"col\">{}</th>", escape(header));
    }
    html.push_str("</tr></thead><tbody>");
    if rows.is_empty() {
        let _ = write!(
            html,
            "<tr><td colspan=\"{}\" class=\"muted\">Nothing yet.</td></tr>",
            headers.len()
        );
    }
    for row in rows {
        html.push_str("<tr>");
        for cell in row {
            let _ = write!(html, "<td>{cell}</td>");
        }
        html.push_str("</tr>");
    }
    html.push_str("</tbody></table></div>");
    html
}

/// A form posting to `action` with one button, `label`, and hidden or
/// visible `fields` (markup).
pub fn action(action: &str, label: &str, fields: &str) -> String {
    format!(
        "<form class=\"inline\" method=\"post\" action=\"{}\">{fields}<button type=\"submit\">{}</button></form>",
        escape(action),
        escape(label)
    )
}

/// A time in milliseconds since the epoch, as RFC 3339 in UTC.
pub fn time(millis: i64) -> String {
    let at = std::time::UNIX_EPOCH
        + std::time::Duration::from_millis(u64::try_from(millis).unwrap_or(0));
    humantime::format_rfc3339_seconds(at).to_string()
}

/// Validations per hour by verdict, as stacked bars in an SVG with a text
/// alternative: `hours` oldest first, each `(label, proceed, fail, retry)`.
pub fn chart(title: &str, hours: &[(String, usize, usize, usize)]) -> String {
    let most = hours
        .iter()
        .map(|(_, p, f, r)| p + f + r)
        .max()
        .unwrap_or(0)
        .max(1);
    let (width, height, bar) = (hours.len().max(1) * 24 + 40, 160usize, 18usize);
    let mut svg = format!(
        "<svg role=\"img\" aria-labelledby=\"chart-title\" width=\"100%\" viewBox=\"0 0 {width} {}\" preserveAspectRatio=\"xMinYMin meet\"><title id=\"chart-title\">{}</title>",
        height + 30,
        escape(title)
    );
    for (index, (label, proceed, fail, retry)) in hours.iter().enumerate() {
        let x = 30 + index * 24;
        let mut top = height;
        for (count, color) in [(proceed, "#1a6b34"), (retry, "#8a4b00"), (fail, "#a3191f")] {
            let h = count * (height - 10) / most;
            if h > 0 {
                top -= h;
                let _ = write!(
                    svg,
                    "<rect x=\"{x}\" y=\"{top}\" width=\"{bar}\" height=\"{h}\" fill=\"{color}\"><title>{} {count}</title></rect>",
                    escape(label)
                );
            }
        }
        if index % 4 == 0 {
            let _ = write!(
                svg,
                "<text x=\"{x}\" y=\"{}\">{}</text>",
                height + 20,
                escape(label)
            );
        }
    }
    let _ = write!(svg, "<text x=\"0\" y=\"12\">{most}</text></svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_shown_is_escaped() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"y\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;y&quot;"
        );
        let page = frame("<b>", &table("t", &["h"], &[vec![escape("<i>")]]));
        assert!(page.contains("<title>&lt;b&gt; · preflight</title>"));
        assert!(page.contains("<td>&lt;i&gt;</td>"));
        assert!(!page.contains("<b>") && !page.contains("<i>"));
        assert_eq!(query_value("a b&c"), "a+b%26c");
    }

    #[test]
    fn a_chart_stacks_each_hour_and_names_itself() {
        let svg = chart(
            "Validations",
            &[("09:00".to_owned(), 3, 1, 0), ("10:00".to_owned(), 0, 0, 2)],
        );
        assert!(svg.contains("<title id=\"chart-title\">Validations</title>"));
        assert_eq!(svg.matches("<rect").count(), 3);
    }
}
