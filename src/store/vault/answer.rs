//! Vault's answers as JSON that wipes itself: every string in it (keys, tokens) is
//! overwritten when the answer is dropped, as the rest of wandb-cred's secret text is.
//! What the HTTP library buffers on its side is not wiped (see the security page).

use serde_json::Value;
use zeroize::Zeroize;

/// A parsed answer (`Null` when there was no JSON body).
pub struct Answer(pub Value);

impl std::ops::Deref for Answer {
    type Target = Value;
    fn deref(&self) -> &Value {
        &self.0
    }
}

impl Drop for Answer {
    fn drop(&mut self) {
        wipe(&mut self.0);
    }
}

/// Overwrites every string in `value` with zeros (object keys are field names).
pub fn wipe(value: &mut Value) {
    match value {
        Value::String(text) => text.zeroize(),
        Value::Array(items) => items.iter_mut().for_each(wipe),
        Value::Object(fields) => fields.values_mut().for_each(wipe),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_string_is_wiped() {
        let mut value = serde_json::json!({"data": {"data": {"api_key": "k", "list": ["t"]}}});
        super::wipe(&mut value);
        assert_eq!(value.pointer("/data/data/api_key").unwrap(), "");
        assert_eq!(value.pointer("/data/data/list/0").unwrap(), "");
    }
}
