namespace HyperSharp.Machine.Devices;

/// <summary>
/// One level-triggered line that several sources drive (the ACPI SCI: PM1 events and general-purpose
/// events): it is asserted while any input is. Each source gets its own input, so one source
/// lowering its level never hides another's.
/// </summary>
public sealed class SharedInterruptLine(IInterruptLine line)
{
    private readonly object _lock = new();
    private ulong _asserted;
    private int _inputs;
    private bool _level;

    /// <summary>A new input of this line (at most 64).</summary>
    public IInterruptLine NewInput()
    {
        lock (_lock)
        {
            if (_inputs == 64) throw new InvalidOperationException("a shared interrupt line takes at most 64 inputs");
            return new Input(this, _inputs++);
        }
    }

    private void Set(int input, bool asserted)
    {
        lock (_lock)
        {
            _asserted = asserted ? _asserted | 1UL << input : _asserted & ~(1UL << input);
            bool level = _asserted != 0;
            if (level == _level) return;
            _level = level;
            line.Set(level);
        }
    }

    private sealed class Input(SharedInterruptLine owner, int index) : IInterruptLine
    {
        public void Set(bool asserted) => owner.Set(index, asserted);
    }
}
