using Iced.Intel;

namespace HyperSharp.Hypervisor.Emulated.Tests.Differential;

/// <summary>Collects what Iced's encoder writes: one instruction's bytes.</summary>
internal sealed class ByteCodeWriter : CodeWriter
{
    private readonly List<byte> _bytes = new();
    public override void WriteByte(byte value) => _bytes.Add(value);
    public byte[] ToArray() => _bytes.ToArray();
}
