//! The code blocks of the README and the manual (`docs/**/*.md`), with the HTML comment
//! that marks how each is tested: `<!-- recipe: NAME -->` (a test of its own reads it
//! by name) or `<!-- world: OPTIONS -->` (the world a `console` block runs in).

use std::path::{Path, PathBuf};

/// One fenced code block.
#[derive(Debug, Clone)]
pub struct Block {
    /// The file, relative to the repository (`docs/guides/ssh.md`).
    pub file: String,
    /// The line of the opening fence, from 1.
    pub line: usize,
    /// The fence's info string (`console`, `sh`, `ini`, ...).
    pub info: String,
    /// The comment on the line just above the fence, without `<!--`/`-->`.
    pub mark: Option<String>,
    pub body: String,
}

impl Block {
    pub fn place(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }

    /// The name after `recipe:` in the block's mark.
    pub fn recipe(&self) -> Option<&str> {
        self.mark.as_deref()?.strip_prefix("recipe:").map(str::trim)
    }

    /// The options after `world:` in the block's mark.
    pub fn world(&self) -> Vec<String> {
        self.mark
            .as_deref()
            .and_then(|m| m.strip_prefix("world:"))
            .map(|w| w.split(',').map(|o| o.trim().to_owned()).collect())
            .unwrap_or_default()
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// README.md and every Markdown file under docs/, in a stable order.
pub fn files() -> Vec<String> {
    let mut found = vec!["README.md".to_owned()];
    let mut stack = vec![root().join("docs")];
    let mut docs = Vec::new();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                let relative = path.strip_prefix(root()).unwrap();
                docs.push(relative.to_str().unwrap().to_owned());
            }
        }
    }
    docs.sort();
    found.extend(docs);
    found
}

pub fn read(file: &str) -> String {
    std::fs::read_to_string(root().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// Fails unless the page `file` says each of `words` (line breaks count as spaces).
#[track_caller]
pub fn page_says(file: &str, words: &[&str]) {
    let page = read(file).split_whitespace().collect::<Vec<_>>().join(" ");
    for said in words {
        assert!(page.contains(said), "{file} lacks {said:?}");
    }
}

/// Every fenced block of one file.
pub fn blocks_of(file: &str) -> Vec<Block> {
    let text = read(file);
    let lines: Vec<&str> = text.lines().collect();
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let indent = line.len() - line.trim_start().len();
        let Some(info) = line.trim_start().strip_prefix("```") else {
            i += 1;
            continue;
        };
        let mark = i
            .checked_sub(1)
            .map(|j| lines[j].trim())
            .and_then(|l| l.strip_prefix("<!--")?.strip_suffix("-->"))
            .map(|m| m.trim().to_owned());
        let start = i;
        let mut body = String::new();
        i += 1;
        while i < lines.len() && lines[i].trim() != "```" {
            let l = lines[i];
            body.push_str(l.get(indent.min(l.len() - l.trim_start().len())..).unwrap());
            body.push('\n');
            i += 1;
        }
        assert!(
            i < lines.len(),
            "{file}:{}: the block is never closed",
            start + 1
        );
        blocks.push(Block {
            file: file.to_owned(),
            line: start + 1,
            info: info.trim().to_owned(),
            mark,
            body,
        });
        i += 1;
    }
    blocks
}

/// Every fenced block of the README and the manual.
pub fn all() -> Vec<Block> {
    files().iter().flat_map(|f| blocks_of(f)).collect()
}

/// The block marked `<!-- recipe: NAME -->`, wherever it is; exactly one must exist.
pub fn recipe(name: &str) -> String {
    let found: Vec<Block> = all()
        .into_iter()
        .filter(|b| b.recipe() == Some(name))
        .collect();
    match found.as_slice() {
        [one] => one.body.clone(),
        [] => panic!("no block is marked <!-- recipe: {name} -->"),
        many => panic!(
            "recipe {name} is marked {} times: {:?}",
            many.len(),
            many.iter().map(Block::place).collect::<Vec<_>>()
        ),
    }
}

/// Whether `path` (relative to the repository) exists.
pub fn exists(path: &str) -> bool {
    Path::new(&root().join(path)).exists()
}
