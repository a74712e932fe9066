//! Expressions as text, `tanh(x1*w1 + x2*w2 + b)`, parsed into a graph of
//! `Value`s: what `micrograd grad` differentiates.
//!
//! The grammar is Python's, for what it covers:
//!
//! ```text
//! sum     = product (("+" | "-") product)*
//! product = unary (("*" | "/") unary)*
//! unary   = "-" unary | power
//! power   = atom (("**" | "^") unary)?      right associative; binds tighter
//!                                           than a unary minus on its left,
//!                                           so -x**2 is -(x**2)
//! atom    = number | name | name "(" sum ")" | "(" sum ")"
//! ```
//!
//! Numbers are decimal or scientific (`2`, `0.5`, `.5`, `1e-3`); names are
//! `[A-Za-z_][A-Za-z0-9_]*`; the functions are the engine's elementwise
//! ops, each named as its [`Op`] prints, in lower case (`tanh`, `exp`, `log`
//! for the natural logarithm, `relu`, ...: [`Function::all`]). A number
//! becomes a constant leaf, as
//! micrograd wraps a Python number in `Value`; `x**2` with a number as
//! exponent is micrograd's `**2`, any other exponent is a node too.

use std::collections::HashMap;
use std::fmt;

use crate::engine::{Anomaly, Op, Unary, Value};

/// A parsed expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// A number.
    Number(f64),
    /// A variable, by name.
    Variable(String),
    /// `-a`
    Neg(Box<Expr>),
    /// `a + b`, `a - b`, `a * b`, `a / b`, `a ** b`
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// `f(a)`
    Call(Function, Box<Expr>),
}

/// A binary operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `**` or `^`
    Pow,
}

/// A function an expression may call: one of the engine's elementwise ops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Function(Unary);

impl Function {
    /// Every function, in the order an error lists them.
    ///
    /// ```
    /// use micrograd::expr::Function;
    /// let names: Vec<String> = Function::all().map(Function::name).collect();
    /// assert_eq!(names[..3], ["tanh", "exp", "log"]);
    /// ```
    pub fn all() -> impl Iterator<Item = Function> {
        Unary::ALL.iter().map(|&op| Function(op))
    }

    /// Its name in an expression: its op's, in lower case (`relu` for
    /// micrograd's `ReLU`).
    pub fn name(self) -> String {
        Op::from(self.0).to_string().to_lowercase()
    }

    /// The function called `name`, if there is one.
    fn named(name: &str) -> Option<Function> {
        Function::all().find(|f| f.name() == name)
    }
}

/// A syntax error: what is wrong and where (a byte offset into the text).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// What is wrong.
    pub message: String,
    /// Where, as a byte offset into the text.
    pub position: usize,
    /// The text that was parsed.
    pub text: String,
}

/// `message`, then the expression with a caret under the position:
///
/// ```text
/// expected a closing `)`
///   tanh(x + 1
///             ^
/// ```
impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (shown, column) = excerpt(&self.text, self.position);
        write!(f, "{}\n  {shown}\n  {}^", self.message, " ".repeat(column))
    }
}

/// The part of `text` shown under an error: at most [`EXCERPT`] characters
/// around `position`, cut ends marked `…`, tabs and line breaks shown as
/// spaces so the caret lines up; and the caret's column in it.
fn excerpt(text: &str, position: usize) -> (String, usize) {
    let position = position.min(text.len());
    let chars: Vec<char> = text
        .chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .collect();
    let at = text[..position].chars().count();
    if chars.len() <= EXCERPT {
        return (chars.into_iter().collect(), at);
    }
    // Most of the window before the caret: what led to the error.
    let start = at.saturating_sub(EXCERPT * 3 / 4);
    let end = (start + EXCERPT).min(chars.len());
    let start = end.saturating_sub(EXCERPT).min(start);
    let mut shown = String::new();
    if start > 0 {
        shown.push('…');
    }
    shown.extend(&chars[start..end]);
    if end < chars.len() {
        shown.push('…');
    }
    (shown, at - start + usize::from(start > 0))
}

/// The most characters of an expression an error shows.
const EXCERPT: usize = 72;

impl std::error::Error for ParseError {}

/// The longest expression accepted, in tokens. It bounds the depth of the
/// parse and of the tree, so that no expression a user types can exhaust
/// the stack.
pub const MAX_TOKENS: usize = 2_000;

/// Parses `text` into an [`Expr`].
///
/// ```
/// use micrograd::expr::{parse, Expr};
/// let e = parse("-x**2").unwrap();
/// assert_eq!(e.variables(), vec!["x"]);
/// assert!(matches!(e, Expr::Neg(_))); // -(x**2), as in Python
/// let err = parse("tanh(x + ").unwrap_err();
/// assert_eq!(err.to_string(), "expected a number, a name or `(`, found the end\n  tanh(x + \n           ^");
/// ```
///
/// # Errors
///
/// A [`ParseError`] at the first thing that does not fit the grammar, an
/// unknown function included, or at the first token past [`MAX_TOKENS`].
pub fn parse(text: &str) -> Result<Expr, ParseError> {
    let tokens = lex(text)?;
    // The list ends with `Token::End`, which is not counted.
    if let Some(&(_, at)) = tokens.get(MAX_TOKENS).filter(|(t, _)| *t != Token::End) {
        let message = format!("the expression is too long (more than {MAX_TOKENS} tokens)");
        return Err(ParseError {
            message,
            position: at,
            text: text.to_owned(),
        });
    }
    let mut parser = Parser {
        text,
        tokens,
        next: 0,
    };
    let expr = parser.sum()?;
    match parser.peek() {
        (Token::End, _) => Ok(expr),
        (token, at) => Err(parser.error(at, format!("unexpected {}", token.describe()))),
    }
}

impl Expr {
    /// The variables the expression uses, in order of first appearance.
    pub fn variables(&self) -> Vec<&str> {
        let mut names = Vec::new();
        self.collect_variables(&mut names);
        names
    }

    fn collect_variables<'a>(&'a self, names: &mut Vec<&'a str>) {
        match self {
            Expr::Number(_) => {}
            Expr::Variable(name) => {
                if !names.contains(&name.as_str()) {
                    names.push(name);
                }
            }
            Expr::Neg(a) | Expr::Call(_, a) => a.collect_variables(names),
            Expr::Binary(_, a, b) => {
                a.collect_variables(names);
                b.collect_variables(names);
            }
        }
    }

    /// Builds the expression's graph, each variable a leaf labelled with its
    /// name and taken from `inputs`.
    ///
    /// # Errors
    ///
    /// The name of the first variable that `inputs` does not hold.
    pub fn build(&self, inputs: &HashMap<String, Value>) -> Result<Value, String> {
        Ok(match self.build_node(inputs)? {
            Node::Value(v) => v,
            Node::Number(x) => Value::new(x),
        })
    }

    fn build_node(&self, inputs: &HashMap<String, Value>) -> Result<Node, String> {
        Ok(match self {
            Expr::Number(x) => Node::Number(*x),
            Expr::Variable(name) => Node::Value(*inputs.get(name).ok_or_else(|| name.clone())?),
            Expr::Neg(a) => match a.build_node(inputs)? {
                Node::Number(x) => Node::Number(-x),
                Node::Value(v) => Node::Value(-v),
            },
            Expr::Call(f, a) => {
                let v = match a.build_node(inputs)? {
                    Node::Number(x) => Value::new(x),
                    Node::Value(v) => v,
                };
                Node::Value(v.unary(f.0))
            }
            Expr::Binary(op, a, b) => binary(*op, a.build_node(inputs)?, b.build_node(inputs)?),
        })
    }
}

/// An expression evaluated at given values and differentiated from its
/// root ([`Expr::evaluate`]): what `micrograd grad` prints and the
/// playground's expression drawing shows.
#[derive(Debug)]
pub struct Evaluation {
    /// The expression's graph, backpropagated.
    pub root: Value,
    /// Each given name and its leaf, in the order given; a leaf's
    /// [`grad`](Value::grad) is d(root)/d(name).
    pub inputs: Vec<(String, Value)>,
    /// The op that first left the real numbers, forward or backward, if
    /// one did ([`Value::backward_checked`]); the numbers are computed all
    /// the same.
    pub not_finite: Option<Box<Anomaly>>,
}

/// Why an expression could not be evaluated at the given values.
#[derive(Clone, Debug, PartialEq)]
pub enum EvaluateError {
    /// A name is given two values.
    Twice(String),
    /// A variable of the expression has no value.
    Missing(String),
}

impl fmt::Display for EvaluateError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            EvaluateError::Twice(name) => write!(f, "`{name}` is given twice"),
            EvaluateError::Missing(name) => write!(f, "no value for `{name}`"),
        }
    }
}

impl std::error::Error for EvaluateError {}

impl Expr {
    /// Builds the expression's graph at `values` (each a leaf labelled with
    /// its name) and backpropagates it, checked: the one way an expression
    /// is evaluated, so every caller finds and names a value that is not
    /// finite ([`Evaluation::not_finite`]) rather than printing NaN with no
    /// cause.
    ///
    /// ```
    /// use micrograd::expr::parse;
    /// let values = [("x".to_owned(), 0.0), ("y".to_owned(), 2.0)];
    /// let e = parse("x * log(x)").unwrap().evaluate(&values).unwrap();
    /// assert!(e.root.data().is_nan()); // 0 * -inf
    /// assert!(e.not_finite.unwrap().to_string().contains("log"));
    /// assert_eq!(e.inputs[1].1.grad(), 0.0); // y is not used
    /// ```
    ///
    /// # Errors
    ///
    /// A name given twice, or a variable given no value.
    pub fn evaluate(&self, values: &[(String, f64)]) -> Result<Evaluation, EvaluateError> {
        let mut by_name = HashMap::new();
        let mut inputs = Vec::with_capacity(values.len());
        for (name, x) in values {
            let leaf = Value::new(*x).with_label(name);
            if by_name.insert(name.clone(), leaf).is_some() {
                return Err(EvaluateError::Twice(name.clone()));
            }
            inputs.push((name.clone(), leaf));
        }
        let root = self.build(&by_name).map_err(EvaluateError::Missing)?;
        let not_finite = root.backward_checked().err();
        Ok(Evaluation {
            root,
            inputs,
            not_finite,
        })
    }
}

/// A built subexpression: arithmetic on numbers alone happens before any
/// node exists, as in Python (`2*3*x` has one constant, 6).
enum Node {
    Number(f64),
    Value(Value),
}

fn binary(op: BinaryOp, a: Node, b: Node) -> Node {
    use BinaryOp::{Add, Div, Mul, Pow, Sub};
    use Node::{Number as N, Value as V};
    match (op, a, b) {
        (Add, N(x), N(y)) => N(x + y),
        (Sub, N(x), N(y)) => N(x - y),
        (Mul, N(x), N(y)) => N(x * y),
        (Div, N(x), N(y)) => N(x / y),
        (Pow, N(x), N(y)) => N(x.powf(y)),
        (Add, V(x), N(y)) => V(x + y),
        (Sub, V(x), N(y)) => V(x - y),
        (Mul, V(x), N(y)) => V(x * y),
        (Div, V(x), N(y)) => V(x / y),
        (Pow, V(x), N(y)) => V(x.powf(y)),
        (Add, N(x), V(y)) => V(x + y),
        (Sub, N(x), V(y)) => V(x - y),
        (Mul, N(x), V(y)) => V(x * y),
        (Div, N(x), V(y)) => V(x / y),
        (Pow, N(x), V(y)) => V(Value::new(x).pow(y)),
        (Add, V(x), V(y)) => V(x + y),
        (Sub, V(x), V(y)) => V(x - y),
        (Mul, V(x), V(y)) => V(x * y),
        (Div, V(x), V(y)) => V(x / y),
        (Pow, V(x), V(y)) => V(x.pow(y)),
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Number(f64),
    Name(String),
    Plus,
    Minus,
    Star,
    Slash,
    Power,
    Open,
    Close,
    End,
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Token::Number(x) => format!("number {x}"),
            Token::Name(n) => format!("name `{n}`"),
            Token::Plus => "`+`".into(),
            Token::Minus => "`-`".into(),
            Token::Star => "`*`".into(),
            Token::Slash => "`/`".into(),
            Token::Power => "`**`".into(),
            Token::Open => "`(`".into(),
            Token::Close => "`)`".into(),
            Token::End => "the end".into(),
        }
    }
}

fn lex(text: &str) -> Result<Vec<(Token, usize)>, ParseError> {
    let error = |position: usize, message: String| ParseError {
        message,
        position,
        text: text.to_owned(),
    };
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        let token = match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'+' => Token::Plus,
            b'-' => Token::Minus,
            b'/' => Token::Slash,
            b'^' => Token::Power,
            b'(' => Token::Open,
            b')' => Token::Close,
            b'*' if bytes.get(i + 1) == Some(&b'*') => {
                i += 1;
                Token::Power
            }
            b'*' => Token::Star,
            b'0'..=b'9' | b'.' => {
                let mut end = i;
                while end < bytes.len() && (bytes[end].is_ascii_digit() || bytes[end] == b'.') {
                    end += 1;
                }
                if end < bytes.len() && (bytes[end] == b'e' || bytes[end] == b'E') {
                    let mut exp = end + 1;
                    if exp < bytes.len() && (bytes[exp] == b'+' || bytes[exp] == b'-') {
                        exp += 1;
                    }
                    if exp < bytes.len() && bytes[exp].is_ascii_digit() {
                        while exp < bytes.len() && bytes[exp].is_ascii_digit() {
                            exp += 1;
                        }
                        end = exp;
                    }
                }
                let literal = &text[i..end];
                let value = literal
                    .parse::<f64>()
                    .map_err(|_| error(start, format!("`{literal}` is not a number")))?;
                if !value.is_finite() {
                    return Err(error(
                        start,
                        format!(
                            "`{literal}` is too large for a 64-bit float (at most about 1.8e308)"
                        ),
                    ));
                }
                i = end - 1;
                Token::Number(value)
            }
            b'A'..=b'Z' | b'a'..=b'z' | b'_' => {
                let mut end = i;
                while end < bytes.len()
                    && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_')
                {
                    end += 1;
                }
                let name = text[i..end].to_owned();
                i = end - 1;
                Token::Name(name)
            }
            _ => {
                let ch = text[i..].chars().next().unwrap_or('?');
                return Err(error(start, format!("unexpected character `{ch}`")));
            }
        };
        tokens.push((token, start));
        i += 1;
    }
    tokens.push((Token::End, text.len()));
    Ok(tokens)
}

struct Parser<'t> {
    text: &'t str,
    tokens: Vec<(Token, usize)>,
    next: usize,
}

impl Parser<'_> {
    fn peek(&self) -> (Token, usize) {
        self.tokens[self.next].clone()
    }

    fn advance(&mut self) -> (Token, usize) {
        let token = self.peek();
        if token.0 != Token::End {
            self.next += 1;
        }
        token
    }

    fn error(&self, position: usize, message: String) -> ParseError {
        ParseError {
            message,
            position,
            text: self.text.to_owned(),
        }
    }

    fn sum(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.product()?;
        loop {
            let op = match self.peek().0 {
                Token::Plus => BinaryOp::Add,
                Token::Minus => BinaryOp::Sub,
                _ => return Ok(left),
            };
            self.advance();
            left = Expr::Binary(op, Box::new(left), Box::new(self.product()?));
        }
    }

    fn product(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.unary()?;
        loop {
            let op = match self.peek().0 {
                Token::Star => BinaryOp::Mul,
                Token::Slash => BinaryOp::Div,
                _ => return Ok(left),
            };
            self.advance();
            left = Expr::Binary(op, Box::new(left), Box::new(self.unary()?));
        }
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        if self.peek().0 == Token::Minus {
            self.advance();
            return Ok(Expr::Neg(Box::new(self.unary()?)));
        }
        self.power()
    }

    fn power(&mut self) -> Result<Expr, ParseError> {
        let base = self.atom()?;
        if self.peek().0 == Token::Power {
            self.advance();
            // Python: the exponent is a unary expression, so 2**-1 and
            // 2**3**2 (= 2**9) parse.
            let exponent = self.unary()?;
            return Ok(Expr::Binary(
                BinaryOp::Pow,
                Box::new(base),
                Box::new(exponent),
            ));
        }
        Ok(base)
    }

    fn atom(&mut self) -> Result<Expr, ParseError> {
        match self.advance() {
            (Token::Number(x), _) => Ok(Expr::Number(x)),
            (Token::Open, _) => {
                let inner = self.sum()?;
                self.close()?;
                Ok(inner)
            }
            (Token::Name(name), at) => {
                if self.peek().0 != Token::Open {
                    return Ok(Expr::Variable(name));
                }
                let Some(function) = Function::named(&name) else {
                    let known: Vec<String> = Function::all().map(Function::name).collect();
                    return Err(self.error(
                        at,
                        format!("unknown function `{name}` (known: {})", known.join(", ")),
                    ));
                };
                self.advance();
                let argument = self.sum()?;
                self.close()?;
                Ok(Expr::Call(function, Box::new(argument)))
            }
            (token, at) => Err(self.error(
                at,
                format!(
                    "expected a number, a name or `(`, found {}",
                    token.describe()
                ),
            )),
        }
    }

    fn close(&mut self) -> Result<(), ParseError> {
        match self.advance() {
            (Token::Close, _) => Ok(()),
            (token, at) => Err(self.error(
                at,
                format!("expected a closing `)`, found {}", token.describe()),
            )),
        }
    }
}
