// Which artifacts each build of select-platform pulled (dependency:collect output, one per line).
def read(String name) {
    def f = new File(basedir, name)
    assert f.isFile() : "missing ${f}"
    def natives = [:].withDefault { new TreeSet() }
    def batchwise = new TreeSet()
    f.eachLine { line ->
        def n = line =~ /org\.bytedeco:([\w.-]+):jar:([\w-]+):/
        if (n.find()) natives[n.group(1)] << n.group(2)
        def b = line =~ /io\.batchwise:([\w.-]+):jar:/
        if (b.find()) batchwise << b.group(1)
    }
    [natives: natives, batchwise: batchwise]
}

def cpu = ['linux-arm64', 'linux-x86_64', 'macosx-arm64', 'macosx-x86_64', 'windows-x86_64'] as TreeSet
def gpu = ['linux-arm64', 'linux-x86_64', 'windows-x86_64'] as TreeSet

def all = read('all-platforms.txt')
['javacpp', 'dnnl', 'opencl'].each { assert all.natives[it] == cpu : "${it}: ${all.natives[it]}" }
assert all.natives['cuda'] == gpu : "cuda: ${all.natives['cuda']}"
assert all.natives.keySet() == ['cuda', 'dnnl', 'javacpp', 'opencl'] as Set : "natives: ${all.natives}"
def platformArtifacts = ['batchwise-platform', 'batchwise-platform-gpu'] as TreeSet
cpu.each { platformArtifacts << "batchwise-platform-${it}".toString() }
gpu.each { platformArtifacts << "batchwise-platform-${it}-gpu".toString() }
assert all.batchwise == (platformArtifacts + ['batchwise-core', 'batchwise-cudnn', 'batchwise-onednn', 'batchwise-reference']) : "${all.batchwise}"

def one = read('linux-arm64.txt')
['javacpp', 'dnnl', 'opencl', 'cuda'].each { assert one.natives[it] == ['linux-arm64'] as TreeSet : "${it}: ${one.natives[it]}" }
assert one.batchwise == ['batchwise-core', 'batchwise-cudnn', 'batchwise-onednn', 'batchwise-platform', 'batchwise-platform-gpu',
        'batchwise-platform-linux-arm64', 'batchwise-platform-linux-arm64-gpu', 'batchwise-reference'] as TreeSet : "${one.batchwise}"
println "select-platform: all platforms ${all.natives}; -Djavacpp.platform=linux-arm64 ${one.natives}"
true
