namespace HyperSharp.Hypervisor.Emulated.Backend;

/// <summary>
/// A signal between the two threads of one emulated vCPU, which strictly take turns (the processor
/// thread hands over an exit, the caller of Run hands back the answer). Exits come in bursts — a
/// guest writing its console does one per character — so the waiter spins briefly before it blocks:
/// a blocked hand-over costs two context switches, a spun one a few hundred nanoseconds.
/// </summary>
internal sealed class Handoff
{
    private const int SpinRounds = 2000; // about 50-100 us of spinning
    private readonly ManualResetEventSlim _event = new(false, 0);
    private volatile int _signalled;

    public void Signal()
    {
        _signalled = 1;
        _event.Set();
    }

    public void Wait()
    {
        for (int i = 0; i < SpinRounds; i++)
        {
            if (_signalled == 1) { Take(); return; }
            Thread.SpinWait(16);
        }
        // The event can be set with no signal pending: a signaller preempted between its two writes may Set after
        // the spinning waiter already took its signal. Only the flag counts; a stale Set is cleared and waited past.
        while (_signalled == 0)
        {
            _event.Wait();
            if (_signalled == 0) _event.Reset();
        }
        Take();
    }

    // Safe to clear: the other side signals again only after this side has answered (strict turns).
    private void Take()
    {
        _signalled = 0;
        _event.Reset();
    }
}
