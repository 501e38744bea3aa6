using Iced.Intel;

namespace HyperSharp.Hypervisor.Emulated.Decoding;

/// <summary>Feeds Iced from a window of host memory (the rest of one guest page), or from a small copy.</summary>
internal sealed unsafe class ByteWindowReader : CodeReader
{
    private byte* _p;
    private int _pos, _len;

    public void Reset(byte* p, int length) { _p = p; _len = length; _pos = 0; }

    public int Position => _pos;

    public override int ReadByte() => _pos < _len ? _p[_pos++] : -1; // Safe: _pos checked against the window length.
}
