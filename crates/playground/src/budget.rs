//! The cores the sessions share: at most so many sessions compute at once
//! (by default every core but one, which stays free for the server, so a
//! page loads at once however many tabs train), each for a short turn, in
//! the order they asked.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

/// A first-come, first-served semaphore of turns.
pub struct Budget {
    tickets: Mutex<Tickets>,
    turned: Condvar,
}

struct Tickets {
    /// The next ticket to hand out.
    next: u64,
    /// Tickets below this may compute.
    admitted: u64,
}

/// A session's turn to compute; the next in line goes when it is dropped.
pub struct Turn<'a> {
    budget: &'a Budget,
}

impl Budget {
    /// A budget of `turns` sessions computing at once (at least one).
    pub fn new(turns: usize) -> Budget {
        Budget {
            tickets: Mutex::new(Tickets {
                next: 0,
                admitted: turns.max(1) as u64,
            }),
            turned: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Tickets> {
        self.tickets.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for a turn, behind every session that asked before.
    pub fn take(&self) -> Turn<'_> {
        let mut tickets = self.lock();
        let mine = tickets.next;
        tickets.next += 1;
        while mine >= tickets.admitted {
            tickets = self
                .turned
                .wait(tickets)
                .unwrap_or_else(PoisonError::into_inner);
        }
        Turn { budget: self }
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        self.budget.lock().admitted += 1;
        self.budget.turned.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn no_more_than_the_budget_compute_at_once() {
        let budget = Arc::new(Budget::new(2));
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (budget, running, most) = (budget.clone(), running.clone(), most.clone());
                std::thread::spawn(move || {
                    for _ in 0..20 {
                        let _turn = budget.take();
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::yield_now();
                        running.fetch_sub(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert!(most.load(Ordering::SeqCst) <= 2);
    }

    #[test]
    fn turns_go_in_the_order_asked() {
        let budget = Budget::new(1);
        let first = budget.take();
        // Tickets 1 and 2 wait; dropping the turn admits ticket 1 only.
        let order = Arc::new(Mutex::new(Vec::new()));
        std::thread::scope(|scope| {
            for k in 1..=2 {
                let order = order.clone();
                let budget = &budget;
                scope.spawn(move || {
                    let _turn = budget.take();
                    order.lock().unwrap().push(k);
                });
                // Let thread k take its ticket before the next asks.
                while budget.lock().next <= k {
                    std::thread::yield_now();
                }
            }
            drop(first);
        });
        assert_eq!(*order.lock().unwrap(), vec![1, 2]);
    }
}
