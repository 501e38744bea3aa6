namespace HyperSharp.Networking.Switching;

/// <summary>Hyper-V's switch types: Private (VMs only), Internal (VMs and the host through a TAP the switch owns), External (bridged to a host adapter).</summary>
public enum SwitchType { Private, Internal, External }

/// <summary>Tunables of a switch; the defaults are a hardware switch's (Linux bridge ages addresses after 300 s too).</summary>
public sealed record SwitchOptions
{
    public TimeSpan MacAgingTime { get; init; } = TimeSpan.FromSeconds(300);

    /// <summary>Most addresses learned at once; beyond it unknown destinations are flooded.</summary>
    public int MaxMacEntries { get; init; } = 8192;

    /// <summary>The clock for aging and bandwidth (tests move it by hand).</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;
}
