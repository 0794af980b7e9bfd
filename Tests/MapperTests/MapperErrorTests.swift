import Mapper
import XCTest

final class MapperErrorTests: XCTestCase {
    func testAMapperErrorPrintsAsItsOneLineReason() {
        XCTAssertEqual("\(MapperError("layer 3 (SOFTMAX): runs on the host"))", "layer 3 (SOFTMAX): runs on the host")
    }
}
