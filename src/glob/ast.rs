//! minimatch's extglob AST (`ast.js`): parsing a path part into nested
//! `@(..)`, `!(..)`, `?(..)`, `*(..)`, `+(..)` nodes and simplifying it
//! (adoption, usurping, flattening). The regular expression is made from
//! it in `regexp.rs`.

use super::{
    JsStr, AT, BACKSLASH, BANG, CARET, CLOSE_BRACKET, CLOSE_PAREN, MAX_EXTGLOB_NESTING,
    OPEN_BRACKET, OPEN_PAREN, PIPE, PLUS, QMARK, STAR,
};

pub(super) const START_NO_TRAVERSAL: &str = "(?!(?:^|/)\\.\\.?(?:$|/))";
pub(super) const START_NO_DOT: &str = "(?!\\.)";
pub(super) const QMARK_RE: &str = "[^/]";
pub(super) const STAR_RE: &str = "[^/]*?";
pub(super) const STAR_NO_EMPTY: &str = "[^/]+?";
pub(super) const RE_SPECIALS: &str = "().*{}+?[]^$\\!";

#[derive(Debug, Clone)]
pub(super) enum Part {
    S(JsStr),
    N(usize),
}

#[derive(Debug)]
pub(super) struct AstNode {
    pub(super) ty: Option<u16>,
    /// Index into `Ast::arrays`; several nodes may share one array, as
    /// `#usurp` makes JavaScript objects share one `#parts` array.
    pub(super) parts: usize,
    pub(super) parent: Option<usize>,
    parent_index: usize,
    pub(super) has_magic: Option<bool>,
    pub(super) uflag: bool,
    pub(super) empty_ext: bool,
    to_string: Option<JsStr>,
}

#[derive(Debug)]
pub(super) struct Ast {
    pub(super) nodes: Vec<AstNode>,
    pub(super) arrays: Vec<Vec<Part>>,
    negs: Vec<usize>,
    pub(super) filled_negs: bool,
    /// `options.dot`
    pub(super) dot: bool,
}

pub(super) const ROOT: usize = 0;

fn is_ext_type(c: u16) -> bool {
    matches!(c, BANG | QMARK | PLUS | STAR | AT)
}

pub(super) fn type_in(c: u16, list: &[u8]) -> bool {
    c < 128 && list.contains(&(c as u8))
}

/// `adoptionMap`
fn adoption_map(parent: u16, child: u16) -> bool {
    let list: &[u8] = match parent {
        BANG => b"@",
        QMARK => b"?@",
        AT => b"@",
        STAR => b"*+?@",
        PLUS => b"+@",
        _ => b"",
    };
    type_in(child, list)
}

/// `adoptionWithSpaceMap`
fn adoption_with_space_map(parent: u16, child: u16) -> bool {
    let list: &[u8] = match parent {
        BANG => b"?",
        AT => b"?",
        PLUS => b"?*",
        _ => b"",
    };
    type_in(child, list)
}

/// `adoptionAnyMap`
fn adoption_any_map(parent: u16, child: u16) -> bool {
    let list: &[u8] = match parent {
        BANG | QMARK | AT => b"?@",
        STAR => b"*+?@",
        PLUS => b"+@?*",
        _ => b"",
    };
    type_in(child, list)
}

/// `usurpMap`
fn usurp_map(parent: u16, child: u16) -> Option<u16> {
    match (parent, child) {
        (BANG, BANG) => Some(AT),
        (QMARK, STAR) | (QMARK, PLUS) => Some(STAR),
        (AT, BANG | QMARK | AT | STAR | PLUS) => Some(child),
        (PLUS, QMARK) | (PLUS, STAR) => Some(STAR),
        _ => None,
    }
}

/// What both loops of `#parseAST` keep literally: a backslash escape and
/// the characters of a `[...]` class (`escaping`, `inBrace`, `braceStart`,
/// `braceNeg` in minimatch).
#[derive(Default)]
struct Literal {
    escaping: bool,
    in_brace: bool,
    brace_start: usize,
    brace_neg: bool,
}

impl Literal {
    /// Whether `c`, read just before index `i`, is kept literally.
    fn takes(&mut self, c: u16, i: usize) -> bool {
        if self.escaping || c == BACKSLASH {
            self.escaping = !self.escaping;
            return true;
        }
        if self.in_brace {
            if i == self.brace_start + 1 {
                if c == CARET || c == BANG {
                    self.brace_neg = true;
                }
            } else if c == CLOSE_BRACKET && !(i == self.brace_start + 2 && self.brace_neg) {
                self.in_brace = false;
            }
            return true;
        }
        if c == OPEN_BRACKET {
            self.in_brace = true;
            self.brace_start = i;
            self.brace_neg = false;
            return true;
        }
        false
    }
}

pub(super) fn starts_with_at(hay: &[u16], at: usize, needle: &str) -> bool {
    let mut rest = hay.get(at..).unwrap_or_default().iter();
    needle.encode_utf16().all(|n| rest.next() == Some(&n))
}

pub(super) type Source = (JsStr, JsStr, bool, bool);

impl Ast {
    pub(super) fn from_glob(pattern: &[u16], dot: bool) -> Result<Ast, String> {
        let mut ast = Ast {
            nodes: Vec::new(),
            arrays: Vec::new(),
            negs: Vec::new(),
            filled_negs: false,
            dot,
        };
        let root = ast.new_node(None, None);
        ast.parse_ast(pattern, root, 0, 0, 0)?;
        Ok(ast)
    }

    fn new_node(&mut self, ty: Option<u16>, parent: Option<usize>) -> usize {
        let parent_index = parent.map_or(0, |p| self.arr(p).len());
        let parts = self.arrays.len();
        self.arrays.push(Vec::new());
        let id = self.nodes.len();
        self.nodes.push(AstNode {
            ty,
            parts,
            parent,
            parent_index,
            has_magic: ty.map(|_| true),
            uflag: false,
            empty_ext: false,
            to_string: None,
        });
        if ty == Some(BANG) && !self.filled_negs {
            self.negs.push(id);
        }
        id
    }

    pub(super) fn arr(&self, id: usize) -> &Vec<Part> {
        &self.arrays[self.nodes[id].parts]
    }

    fn arr_mut(&mut self, id: usize) -> &mut Vec<Part> {
        let a = self.nodes[id].parts;
        &mut self.arrays[a]
    }

    fn push(&mut self, id: usize, p: Part) {
        if let Part::S(s) = &p {
            if s.is_empty() {
                return;
            }
        }
        self.arr_mut(id).push(p);
    }

    pub(super) fn glob_string(&mut self, id: usize) -> JsStr {
        if let Some(s) = &self.nodes[id].to_string {
            return s.clone();
        }
        let parts = self.arr(id).clone();
        let mut pieces = Vec::with_capacity(parts.len());
        for p in parts {
            pieces.push(match p {
                Part::S(s) => s,
                Part::N(n) => self.glob_string(n),
            });
        }
        let s = match self.nodes[id].ty {
            None => pieces.concat(),
            Some(t) => {
                let mut s = vec![t, OPEN_PAREN];
                s.extend(pieces.join(&PIPE));
                s.push(CLOSE_PAREN);
                s
            }
        };
        self.nodes[id].to_string = Some(s.clone());
        s
    }

    pub(super) fn fill_negs(&mut self) -> Result<(), String> {
        if self.filled_negs {
            return Ok(());
        }
        self.glob_string(ROOT);
        self.filled_negs = true;
        while let Some(n) = self.negs.pop() {
            if self.nodes[n].ty != Some(BANG) {
                continue;
            }
            let mut p = n;
            let mut pp = self.nodes[p].parent;
            while let Some(ppi) = pp {
                let mut i = self.nodes[p].parent_index + 1;
                while self.nodes[ppi].ty.is_none() && i < self.arr(ppi).len() {
                    let n_parts = self.arr(n).clone();
                    for part in n_parts {
                        match part {
                            Part::S(_) => return Err("string part in extglob AST??".to_string()),
                            Part::N(pn) => {
                                let src = self.arr(ppi)[i].clone();
                                self.copy_in(pn, src);
                            }
                        }
                    }
                    i += 1;
                }
                p = ppi;
                pp = self.nodes[ppi].parent;
            }
        }
        Ok(())
    }

    pub(super) fn is_start(&self, id: usize) -> bool {
        if id == ROOT {
            return true;
        }
        let Some(parent) = self.nodes[id].parent else {
            return false;
        };
        if !self.is_start(parent) {
            return false;
        }
        let pi = self.nodes[id].parent_index;
        if pi == 0 {
            return true;
        }
        let pa = self.arr(parent);
        (0..pi).all(|i| matches!(pa.get(i), Some(Part::N(x)) if self.nodes[*x].ty == Some(BANG)))
    }

    pub(super) fn is_end(&self, id: usize) -> bool {
        if id == ROOT {
            return true;
        }
        let Some(parent) = self.nodes[id].parent else {
            return false;
        };
        if self.nodes[parent].ty == Some(BANG) {
            return true;
        }
        if !self.is_end(parent) {
            return false;
        }
        if self.nodes[id].ty.is_none() {
            return true;
        }
        self.nodes[id].parent_index + 1 == self.arr(parent).len()
    }

    fn copy_in(&mut self, this: usize, part: Part) {
        match part {
            Part::S(s) => self.push(this, Part::S(s)),
            Part::N(n) => {
                let c = self.clone_node(n, this);
                self.push(this, Part::N(c));
            }
        }
    }

    fn clone_node(&mut self, n: usize, parent: usize) -> usize {
        let c = self.new_node(self.nodes[n].ty, Some(parent));
        let parts = self.arr(n).clone();
        for p in parts {
            self.copy_in(c, p);
        }
        c
    }

    /// `AST.#parseAST`
    fn parse_ast(
        &mut self,
        s: &[u16],
        ast: usize,
        pos: usize,
        ext_depth: usize,
        nesting: usize,
    ) -> Result<usize, String> {
        if nesting > MAX_EXTGLOB_NESTING {
            return Err("Maximum call stack size exceeded".to_string());
        }
        const MAX_DEPTH: usize = 2;
        let mut literal = Literal::default();
        if self.nodes[ast].ty.is_none() {
            let mut i = pos;
            let mut acc = JsStr::new();
            while i < s.len() {
                let c = s[i];
                i += 1;
                if literal.takes(c, i) {
                    acc.push(c);
                    continue;
                }
                if is_ext_type(c) && s.get(i) == Some(&OPEN_PAREN) && ext_depth <= MAX_DEPTH {
                    self.push(ast, Part::S(std::mem::take(&mut acc)));
                    let ext = self.new_node(Some(c), Some(ast));
                    i = self.parse_ast(s, ext, i, ext_depth + 1, nesting + 1)?;
                    self.push(ast, Part::N(ext));
                    continue;
                }
                acc.push(c);
            }
            self.push(ast, Part::S(acc));
            return Ok(i);
        }

        // some kind of extglob, pos is at the (
        let ty = self.nodes[ast].ty.unwrap_or(AT);
        let mut i = pos + 1;
        let mut part = self.new_node(None, Some(ast));
        let mut parts: Vec<usize> = Vec::new();
        let mut acc = JsStr::new();
        while i < s.len() {
            let c = s[i];
            i += 1;
            if literal.takes(c, i) {
                acc.push(c);
                continue;
            }
            let can_adopt = is_ext_type(c) && adoption_any_map(ty, c);
            if is_ext_type(c)
                && s.get(i) == Some(&OPEN_PAREN)
                && (ext_depth <= MAX_DEPTH || can_adopt)
            {
                let depth_add = if can_adopt { 0 } else { 1 };
                self.push(part, Part::S(std::mem::take(&mut acc)));
                let ext = self.new_node(Some(c), Some(part));
                self.push(part, Part::N(ext));
                i = self.parse_ast(s, ext, i, ext_depth + depth_add, nesting + 1)?;
                continue;
            }
            if c == PIPE {
                self.push(part, Part::S(std::mem::take(&mut acc)));
                parts.push(part);
                part = self.new_node(None, Some(ast));
                continue;
            }
            if c == CLOSE_PAREN {
                if acc.is_empty() && self.arr(ast).is_empty() {
                    self.nodes[ast].empty_ext = true;
                }
                self.push(part, Part::S(std::mem::take(&mut acc)));
                for p in parts {
                    self.push(ast, Part::N(p));
                }
                self.push(ast, Part::N(part));
                return Ok(i);
            }
            acc.push(c);
        }
        // unfinished extglob: not an extglob after all
        self.nodes[ast].ty = None;
        self.nodes[ast].has_magic = None;
        let arr = self.arrays.len();
        self.arrays.push(vec![Part::S(s[pos - 1..].to_vec())]);
        self.nodes[ast].parts = arr;
        Ok(i)
    }

    fn can_adopt(&self, this: usize, child: usize, map: fn(u16, u16) -> bool) -> bool {
        let Some(t) = self.nodes[this].ty else {
            return false;
        };
        if self.nodes[child].ty.is_some() || self.arr(child).len() != 1 {
            return false;
        }
        let Part::N(gc) = self.arr(child)[0] else {
            return false;
        };
        match self.nodes[gc].ty {
            Some(gt) => map(t, gt),
            None => false,
        }
    }

    fn adopt(&mut self, this: usize, child: usize, index: usize) {
        let Part::N(gc) = self.arr(child)[0] else {
            return;
        };
        let gparts = self.arr(gc).clone();
        self.arr_mut(this)
            .splice(index..index + 1, gparts.iter().cloned());
        for p in &gparts {
            if let Part::N(n) = p {
                self.nodes[*n].parent = Some(this);
            }
        }
        self.nodes[this].to_string = None;
    }

    fn adopt_with_space(&mut self, this: usize, child: usize, index: usize) {
        let Part::N(gc) = self.arr(child)[0] else {
            return;
        };
        let blank = self.new_node(None, Some(gc));
        self.arr_mut(blank).push(Part::S(JsStr::new()));
        self.push(gc, Part::N(blank));
        self.adopt(this, child, index);
    }

    fn can_usurp(&self, this: usize, child: usize) -> bool {
        let Some(t) = self.nodes[this].ty else {
            return false;
        };
        if self.nodes[child].ty.is_some() || self.arr(child).len() != 1 || self.arr(this).len() != 1
        {
            return false;
        }
        let Part::N(gc) = self.arr(child)[0] else {
            return false;
        };
        match self.nodes[gc].ty {
            Some(gt) => usurp_map(t, gt).is_some(),
            None => false,
        }
    }

    fn usurp(&mut self, this: usize, child: usize) {
        let Part::N(gc) = self.arr(child)[0] else {
            return;
        };
        let (Some(t), Some(gt)) = (self.nodes[this].ty, self.nodes[gc].ty) else {
            return;
        };
        let Some(nt) = usurp_map(t, gt) else {
            return;
        };
        // share the array, as `this.#parts = gc.#parts` does
        self.nodes[this].parts = self.nodes[gc].parts;
        for p in self.arr(this).clone() {
            if let Part::N(n) = p {
                self.nodes[n].parent = Some(this);
            }
        }
        self.nodes[this].ty = Some(nt);
        self.nodes[this].to_string = None;
        self.nodes[this].empty_ext = false;
    }

    pub(super) fn flatten(&mut self, id: usize) {
        if self.nodes[id].ty.is_none() {
            for p in self.arr(id).clone() {
                if let Part::N(n) = p {
                    self.flatten(n);
                }
            }
        } else {
            let mut iterations = 0;
            loop {
                let mut done = true;
                let mut i = 0;
                while i < self.arr(id).len() {
                    if let Part::N(c) = self.arr(id)[i] {
                        self.flatten(c);
                        if self.can_adopt(id, c, adoption_map) {
                            done = false;
                            self.adopt(id, c, i);
                        } else if self.can_adopt(id, c, adoption_with_space_map) {
                            done = false;
                            self.adopt_with_space(id, c, i);
                        } else if self.can_usurp(id, c) {
                            done = false;
                            self.usurp(id, c);
                        }
                    }
                    i += 1;
                }
                iterations += 1;
                if done || iterations >= 10 {
                    break;
                }
            }
        }
        self.nodes[id].to_string = None;
    }
}
