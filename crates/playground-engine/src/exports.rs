//! The module's C ABI, what `worker.js` calls: bytes in through memory the
//! module lends ([`alloc`]), an answer out in one buffer ([`answer_ptr`],
//! [`answer_len`]) that stays until the next call. Every call answers JSON
//! except [`model`], whose answer is the model's safetensors bytes (or
//! JSON with an `error`, and then it returns 1).
//!
//! A panic (a bug: the engine never panics on a page's input) traps; its
//! message is kept first, for the worker to show ([`panic_message`]).

use std::cell::RefCell;

use crate::Page;

thread_local! {
    static PAGE: RefCell<Page> = RefCell::new(Page::default());
    static ANSWER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    static PANIC: RefCell<String> = const { RefCell::new(String::new()) };
}

fn answer(bytes: Vec<u8>) {
    ANSWER.with(|a| *a.borrow_mut() = bytes);
}

/// Bytes taken from the memory the page lends.
///
/// # Safety
///
/// `ptr` and `len` are what [`alloc`] gave, filled by the caller.
unsafe fn taken(ptr: *mut u8, len: usize) -> Vec<u8> {
    if len == 0 {
        return Vec::new();
    }
    // SAFETY: `alloc(len)` made this vector's buffer, capacity `len`, and
    // gave up its ownership; the caller gives it back once.
    unsafe { Vec::from_raw_parts(ptr, len, len) }
}

/// Lends `len` bytes of memory for the caller to write a request into; the
/// next call that takes them frees them.
#[unsafe(no_mangle)]
pub extern "C" fn alloc(len: usize) -> *mut u8 {
    let mut buffer = Vec::<u8>::with_capacity(len);
    let ptr = buffer.as_mut_ptr();
    std::mem::forget(buffer);
    ptr
}

/// Where the last answer is.
#[unsafe(no_mangle)]
pub extern "C" fn answer_ptr() -> *const u8 {
    ANSWER.with(|a| a.borrow().as_ptr())
}

/// How long the last answer is.
#[unsafe(no_mangle)]
pub extern "C" fn answer_len() -> usize {
    ANSWER.with(|a| a.borrow().len())
}

/// Sets up the panic message's keeping; called once, first.
#[unsafe(no_mangle)]
pub extern "C" fn start() {
    std::panic::set_hook(Box::new(|info| {
        PANIC.with(|p| *p.borrow_mut() = info.to_string());
    }));
}

/// The answer becomes the last panic's message.
#[unsafe(no_mangle)]
pub extern "C" fn panic_message() {
    let message = PANIC.with(|p| p.borrow().clone());
    answer(message.into_bytes());
}

/// Answers the JSON request in `ptr[..len]` (lent by [`alloc`]).
///
/// # Safety
///
/// `ptr` and `len` are what [`alloc`] gave, filled with the request.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn request(ptr: *mut u8, len: usize) {
    // SAFETY: as this function's.
    let bytes = unsafe { taken(ptr, len) };
    let text = String::from_utf8_lossy(&bytes);
    let json = PAGE.with(|page| page.borrow_mut().handle_json(&text));
    answer(json.into_bytes());
}

/// Trains on the file `bytes` named `name` (both lent by [`alloc`]).
///
/// # Safety
///
/// Both pairs are what [`alloc`] gave, filled.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn upload(name: *mut u8, name_len: usize, bytes: *mut u8, len: usize) {
    // SAFETY: as this function's.
    let (name, bytes) = unsafe { (taken(name, name_len), taken(bytes, len)) };
    let name = String::from_utf8_lossy(&name);
    let answer_ = PAGE.with(|page| page.borrow_mut().upload(&name, &bytes));
    answer(serde_json::to_vec(&answer_).expect("answers always serialize"));
}

/// The model's safetensors bytes (returns 0), or JSON with an `error`
/// (returns 1).
#[unsafe(no_mangle)]
pub extern "C" fn model() -> u32 {
    match PAGE.with(|page| page.borrow().model()) {
        Ok(bytes) => {
            answer(bytes);
            0
        }
        Err(e) => {
            answer(serde_json::to_vec(&e).expect("errors always serialize"));
            1
        }
    }
}
