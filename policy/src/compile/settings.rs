//! `set NAME = VALUE`: the policy's settings, read before anything else.

use super::*;

const SETTINGS: [&str; 9] = [
    "persist",
    "secure_path",
    "log_format",
    "passwd_tries",
    "timezone",
    "audit",
    "env_keep",
    "editor",
    "umask",
];

impl<'s> Compiler<'s, '_> {
    pub(super) fn setting(&mut self, name: &Word, value: &Word, context: &Context) {
        let v = value.text.as_str();
        let result: Result<(), String> = match name.text.as_str() {
            "persist" => parse_duration(v).map(|d| {
                self.settings.persist = d;
                self.settings.persist_default = Some(d);
            }),
            "secure_path" => {
                let dirs: Vec<PathBuf> = v.split(':').map(PathBuf::from).collect();
                if v.is_empty() || dirs.iter().any(|d| !d.is_absolute()) {
                    Err(format!("`{v}` is not a list of absolute folders separated by `:`"))
                } else {
                    self.settings.secure_path = dirs;
                    Ok(())
                }
            }
            "log_format" => match v {
                "sudo" => Ok(LogFormat::Sudo),
                "json" => Ok(LogFormat::Json),
                _ => Err(format!("`{v}` is not a log format; use `sudo` or `json`")),
            }
            .map(|format| self.settings.log_format = format),
            "passwd_tries" => match v.parse::<u32>() {
                Ok(n) if (1..=10).contains(&n) => Ok(n),
                _ => Err(format!("`{v}` is not a number of tries from 1 to 10")),
            }
            .map(|n| self.settings.passwd_tries = n),
            "timezone" => (context.zone_lookup)(v).map(|(zone, file)| {
                self.settings.timezone = zone;
                self.settings.timezone_name = v.to_string();
                self.settings.timezone_file = file;
            }),
            "audit" => match v {
                "best-effort" => Ok(Audit::BestEffort),
                "required" => Ok(Audit::Required),
                "off" => Ok(Audit::Off),
                _ => Err(format!(
                    "`{v}` is not an audit mode; use `best-effort`, `required` or `off`"
                )),
            }
            .map(|audit| self.settings.audit = audit),
            "env_keep" => {
                let names: Vec<String> = v.split_whitespace().map(str::to_string).collect();
                match names
                    .iter()
                    .find(|n| !env::is_valid_name(n) || env::is_dangerous_name(n))
                {
                    Some(bad) if env::is_dangerous_name(bad) => Err(format!(
                        "`{bad}` can never be kept: it changes how programs load or shells start"
                    )),
                    Some(bad) => Err(format!("`{bad}` is not a variable name")),
                    None => Ok(names),
                }
                .map(|names| self.settings.env_keep = names)
            }
            "editor" => match v.starts_with('/') {
                true => Ok(v.to_string()),
                false => Err(format!("`{v}` is not an absolute path to an editor")),
            }
            .map(|editor| self.settings.editor = Some(editor)),
            "umask" => match u32::from_str_radix(v, 8) {
                Ok(mask) if mask <= 0o777 && v.bytes().all(|b| (b'0'..=b'7').contains(&b)) => Ok(mask),
                _ => Err(format!(
                    "`{v}` is not a umask; write it in octal, from `000` to `777`, like `027`"
                )),
            }
            .map(|mask| self.settings.umask = mask),
            other => {
                let hint = did_you_mean(other, SETTINGS)
                    .map(|s| format!("did you mean `{s}`?"))
                    .or_else(|| {
                        Some(format!(
                            "the settings are {}",
                            SETTINGS.map(|s| format!("`{s}`")).join(", ")
                        ))
                    });
                self.error(name.span, format!("unknown setting `{other}`"), hint);
                return;
            }
        };
        if let Err(message) = result {
            self.error(
                value.span,
                format!("invalid value for `{}`: {message}", name.text),
                None,
            );
        }
    }
}
