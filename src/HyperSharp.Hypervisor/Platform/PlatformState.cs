namespace HyperSharp.Hypervisor.Platform;

/// <summary>Saved state of the I/O APIC, version 1: redirection entries, input levels, selected register, ID.</summary>
public sealed record IoApicState(ulong[] Redirection, bool[] Lines, uint Select, uint Id);

/// <summary>Saved state of one 8259, version 1.</summary>
public sealed record PicChipState(byte Irr, byte Isr, byte Imr, byte VectorBase, byte Elcr, byte Lines, int InitStep, bool Icw4Needed, bool ReadIsr, bool AutoEoi);

/// <summary>Saved state of one 8254 channel, version 1; times are relative to the moment of saving.</summary>
public sealed record PitChannelState(int Mode, int Access, int ReloadValue, long? StartAgo, bool Latched, bool ReadHigh, bool WriteHigh, bool Armed, ushort LatchValue, byte LowByte, long NextFireIn);

/// <summary>The software platform of a partition: I/O APIC, both PICs, the PIT (local APICs travel with their processors).</summary>
public sealed record SoftwarePlatformState(int Version, IoApicState IoApic, PicChipState[] Pics, PitChannelState[] Pit, bool Gate2);
