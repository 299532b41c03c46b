#pragma once
// The chat's store work off the I/O threads (private to app/): one thread runs the reads and writes of
// the history in the order they were asked for (SQLite writes one at a time anyway), so that a slow
// disk or a busy Redis never holds a connection's strand. Answers go back through acks and emits,
// which any thread may call.

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace switchboard::chat {

class store_worker {
public:
    /// With `threaded` false, post() runs each task at once on the caller's thread (the fuzz target:
    /// one thread plays every strand, and nothing may run behind its back).
    explicit store_worker(bool threaded = true) {
        if (threaded) thread_ = std::thread([this] { run(); });
    }
    ~store_worker() { stop(); }
    store_worker(const store_worker&) = delete;
    store_worker& operator=(const store_worker&) = delete;

    /// Finishes what is queued, then stops; tasks posted from then on are dropped (a reply that comes
    /// back while the server shuts down has nothing left to store). Not from a task.
    void stop() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_one();
        if (thread_.joinable()) thread_.join();
    }

    void post(std::function<void()> task) {
        if (!thread_.joinable()) {
            if (!stopping_) run_guarded(task);
            return;
        }
        {
            std::lock_guard lock(mutex_);
            if (stopping_) return;
            tasks_.push_back(std::move(task));
        }
        wake_.notify_one();
    }

private:
    void run() {
        for (;;) {
            std::function<void()> task;
            {
                std::unique_lock lock(mutex_);
                wake_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
                if (tasks_.empty()) return; // stopping, and nothing left
                task = std::move(tasks_.front());
                tasks_.pop_front();
            }
            run_guarded(task);
        }
    }
    static void run_guarded(const std::function<void()>& task) {
        try {
            task();
        } catch (...) {
            // A task answers its own failures; whatever escapes must not end the worker.
        }
    }

    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::function<void()>> tasks_;
    bool stopping_ = false;
    std::thread thread_; // started in the constructor's body, once the rest is ready
};

} // namespace switchboard::chat
