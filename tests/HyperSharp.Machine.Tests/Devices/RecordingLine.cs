using HyperSharp.Machine.Devices;

namespace HyperSharp.Machine.Tests.Devices;

/// <summary>An interrupt line that remembers its level and counts rising edges.</summary>
public sealed class RecordingLine : IInterruptLine
{
    public bool Level { get; private set; }
    public int RisingEdges { get; private set; }

    public void Set(bool asserted)
    {
        if (asserted && !Level) RisingEdges++;
        Level = asserted;
    }
}
