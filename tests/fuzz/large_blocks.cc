// operator new and delete for the libFuzzer builds of the targets that make large objects afresh
// for every input: fuzz_packet a Processor (1 MB of per-core counters, the fragment table),
// fuzz_control a Director and its fake data plane (several CoreCounters). ASan's allocator maps
// such blocks afresh at every allocation and unmaps them at every free (where glibc keeps them), so
// every input faulted in hundreds of new pages; on a virtual machine that was most of the time an
// input took (fuzz_packet: 60 inputs a second, 1,800 with this). Large blocks (128 KiB and more)
// freed here are kept for the next allocation of the same size and alignment instead (a handful
// at most); everything else goes to malloc and free as before, with ASan's checks. The price: a
// use after free of a kept block is not caught.
#include <cstddef>
#include <cstdlib>
#include <mutex>
#include <new>

namespace {

constexpr std::size_t kLarge = 128 * 1024;
constexpr int kKept = 16;

struct Block {
    void* p = nullptr;
    std::size_t size = 0, align = 0;
    bool in_use = false;
};

std::mutex g_mu;  // EAL's threads allocate too
Block g_blocks[kKept];

void* allocate(std::size_t n, std::size_t align) {
    if (n >= kLarge) {
        std::lock_guard<std::mutex> lock(g_mu);
        for (Block& b : g_blocks)
            if (b.p && !b.in_use && b.size == n && b.align == align) {
                b.in_use = true;
                return b.p;
            }
    }
    void* p = align > alignof(std::max_align_t) ? std::aligned_alloc(align, (n + align - 1) / align * align)
                                                 : std::malloc(n ? n : 1);
    if (!p) return nullptr;
    if (n >= kLarge) {
        std::lock_guard<std::mutex> lock(g_mu);
        for (Block& b : g_blocks)
            if (!b.p) {
                b = Block{p, n, align, true};
                break;
            }
    }
    return p;
}

void release(void* p) {
    if (!p) return;
    {
        std::lock_guard<std::mutex> lock(g_mu);
        for (Block& b : g_blocks)
            if (b.p == p) {
                b.in_use = false;
                return;
            }
    }
    std::free(p);
}

void* allocate_or_throw(std::size_t n, std::size_t align) {
    void* p = allocate(n, align);
    if (!p) throw std::bad_alloc();
    return p;
}

constexpr std::size_t kPlain = alignof(std::max_align_t);

}  // namespace

void* operator new(std::size_t n) { return allocate_or_throw(n, kPlain); }
void* operator new[](std::size_t n) { return allocate_or_throw(n, kPlain); }
void* operator new(std::size_t n, std::align_val_t a) { return allocate_or_throw(n, static_cast<std::size_t>(a)); }
void* operator new[](std::size_t n, std::align_val_t a) { return allocate_or_throw(n, static_cast<std::size_t>(a)); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return allocate(n, kPlain); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return allocate(n, kPlain); }
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
    return allocate(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
    return allocate(n, static_cast<std::size_t>(a));
}

void operator delete(void* p) noexcept { release(p); }
void operator delete[](void* p) noexcept { release(p); }
void operator delete(void* p, std::size_t) noexcept { release(p); }
void operator delete[](void* p, std::size_t) noexcept { release(p); }
void operator delete(void* p, std::align_val_t) noexcept { release(p); }
void operator delete[](void* p, std::align_val_t) noexcept { release(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { release(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { release(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { release(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { release(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { release(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { release(p); }
